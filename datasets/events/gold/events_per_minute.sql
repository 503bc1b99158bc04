-- description: Events per minute by event type and country (country 'unknown' when absent).
-- owner: product-analytics
-- keys: window_start, event_type, country
-- window: window_start = date_trunc('minute', event_ts)
SELECT
  date_trunc('minute', event_ts) AS window_start,
  date_trunc('minute', event_ts) + INTERVAL 1 MINUTE AS window_end,
  event_type,
  coalesce(country, 'unknown') AS country,
  count(1) AS events,
  count(DISTINCT user_id) AS users
FROM {silver}
GROUP BY 1, 2, 3, 4
