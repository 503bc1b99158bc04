-- description: Order revenue and orders per UTC day, country and currency.
-- owner: commerce-finance
-- keys: order_date, country, currency
-- window: order_date = event_date
SELECT
  event_date AS order_date,
  country,
  currency,
  CAST(sum(total) AS DECIMAL(38, 2)) AS revenue,
  count(1) AS orders,
  sum(aggregate(items, 0L, (acc, item) -> acc + item.quantity)) AS units
FROM {silver}
GROUP BY 1, 2, 3
