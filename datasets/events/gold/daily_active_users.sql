-- description: Distinct active users per UTC day.
-- owner: product-analytics
-- keys: event_date
-- window: event_date = event_date
SELECT
  event_date,
  count(DISTINCT user_id) AS active_users,
  count(1) AS events
FROM {silver}
GROUP BY event_date
