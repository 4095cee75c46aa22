output "topic_arn" {
  description = "ARN of the central topic: the spokes' `sns_topic_arn` (with `create_sns_topic = false` and `allow_external_sns_topic = true`)."
  value       = aws_sns_topic.this.arn
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
