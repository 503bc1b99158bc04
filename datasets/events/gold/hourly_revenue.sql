-- description: Purchase revenue per hour and currency.
-- owner: product-analytics
-- keys: hour_start, currency
-- window: hour_start = date_trunc('hour', event_ts)
SELECT
  date_trunc('hour', event_ts) AS hour_start,
  currency,
  CAST(sum(amount) AS DECIMAL(38, 2)) AS revenue,
  count(1) AS purchases
FROM {silver}
WHERE event_type = 'purchase' AND amount IS NOT NULL AND currency IS NOT NULL
GROUP BY 1, 2
