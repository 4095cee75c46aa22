output "topic_arn" {
  description = "ARN of the central topic: the spokes' `sns_topic_arn` (with `create_sns_topic = false` and `allow_external_sns_topic = true`)."
  # Built from the name (known at plan time: a spoke planned in the same configuration has known policies); once
  # the topic and its policy exist.
  value      = local.arns.topic
  depends_on = [aws_sns_topic.this, aws_sns_topic_policy.this]
}

output "kms_key_arn" {
  description = "ARN of the hub's key (the topic's and the bucket's): the spokes' `hub_kms_key_arn` (their grants through SNS and S3)."
  value       = aws_kms_key.this.arn
}

output "report_bucket_name" {
  description = "Name of the central report bucket: the spokes' `hub_report_bucket_name` (known at plan time: the input itself)."
  value       = var.report_bucket_name
}

output "report_bucket_arn" {
  description = "ARN of the central report bucket."
  value       = aws_s3_bucket.this.arn
}

output "organization_report_key" {
  description = "Where the latest organization report is: `<this>.json` and `<this>.html` in the bucket."
  value       = "${local.org_report_prefix}latest"
}

output "function_name" {
  description = "Name of the organization report function."
  value       = aws_lambda_function.this.function_name
}

output "chat_topic_arn" {
  description = "ARN of the chat topic (`create_chat_topic`), or null."
  value       = one(aws_sns_topic.chat[*].arn)
}

output "alarm_arns" {
  description = "ARNs of the hub's alarms, by key (`org_report_errors`, `silent_spokes`, `org_report_not_stored`, `org_report_not_published`)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "dashboard_name" {
  description = "Name of the hub's dashboard, or null."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "spoke_teams" {
  description = "The `teams` input of every spoke (the root module): each of `teams` with its `sns_topic_arn` (and, with `create_chat_topic`, its `chat_topic_arn`) set to the hub's topics, without the hub's `email_subscriptions`, `subscriptions` and `create_chat_topic`: the spokes publish each team's alerts to its one topic here and create no team topic of their own. Known at plan time (built from names); the spokes need `allow_external_sns_topic = true` and the hub's key (`hub_kms_key_arn`)."
  value       = local.spoke_teams
  depends_on  = [aws_sns_topic_policy.team, aws_sns_topic_policy.team_chat]
}

output "team_topic_arns" {
  description = "Each team's topic (`<name_prefix>-<name>`), by team name: where every spoke publishes the team's alerts and reports, and the organization report its organization-wide one."
  value       = local.team_topics
  depends_on  = [aws_sns_topic.team]
}

output "team_chat_topic_arns" {
  description = "Each team's chat topic (`create_chat_topic`: `<name_prefix>-<name>-chat`), by team name: one `aws_chatbot_slack_channel_configuration` (or Microsoft Teams configuration) per team, in this account, takes it as `sns_topic_arns`."
  value       = local.team_chat_topics
  depends_on  = [aws_sns_topic.team_chat]
}
