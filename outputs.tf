output "function_names" {
  description = "Names of the four Lambda functions, by role: `repositories`, `images`, `findings`, `report`."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "function_arns" {
  description = "ARNs of the four Lambda functions, by role: `repositories`, `images`, `findings`, `report`."
  value       = { for key, function in aws_lambda_function.this : key => function.arn }
}

output "role_names" {
  description = "Names of the functions' IAM execution roles (they carry the region), by function."
  value       = { for key, role in aws_iam_role.this : key => role.name }
}

output "role_arns" {
  description = "ARNs of the functions' IAM execution roles, by function."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}

output "log_group_names" {
  description = "Names of the functions' CloudWatch log groups, by function."
  value       = { for key, group in aws_cloudwatch_log_group.this : key => group.name }
}

output "work_queue_url" {
  description = "URL of the work queue (one message per repository to sweep)."
  value       = one(aws_sqs_queue.work[*].url)
}

output "work_queue_arn" {
  description = "ARN of the work queue."
  value       = one(aws_sqs_queue.work[*].arn)
}

output "dead_letter_queue_url" {
  description = "URL of the work queue's dead-letter queue: repositories whose sweep failed `max_receive_count` times."
  value       = one(aws_sqs_queue.dead_letter[*].url)
}

output "dead_letter_queue_arn" {
  description = "ARN of the work queue's dead-letter queue."
  value       = one(aws_sqs_queue.dead_letter[*].arn)
}

output "failed_events_queue_url" {
  description = "URL of the failed-events queue: invocations of the repositories, findings and report functions that failed after Lambda's retries, and events EventBridge could not deliver."
  value       = one(aws_sqs_queue.failed_events[*].url)
}

output "failed_events_queue_arn" {
  description = "ARN of the failed-events queue."
  value       = one(aws_sqs_queue.failed_events[*].arn)
}

output "sns_topic_arn" {
  description = "ARN of the topic notifications are published to (the created one, or `sns_topic_arn` when given)."
  value       = var.create ? local.topic_arn : null
}

output "event_rule_names" {
  description = "Names of the EventBridge rules: `schedule`, `ecr_scan`, with `enable_inspector_events` `inspector_scan`, with `report_schedule_expression` `report`, and with `enable_security_hub_export` `ecr_image_deleted`."
  value       = { for key in keys(local.event_targets) : key => local.event_rule_names[key] }
}

output "event_rule_arns" {
  description = "ARNs of the EventBridge rules: `schedule`, `ecr_scan`, with `enable_inspector_events` `inspector_scan`, with `report_schedule_expression` `report`, and with `enable_security_hub_export` `ecr_image_deleted`."
  value       = { for key in keys(local.event_targets) : key => local.event_rule_arns[key] }
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms (`create_alarms`), by alarm: `dead_letter_queue`, `failed_events_queue`, `<function>_errors` for each function and, where the schedule's period can be computed, `sweep_missing`."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "topic_kms_key_arn" {
  description = "ARN of the customer-managed key the module created for its notification topic (created when no `kms_key_arn` is given and the alarms notify the module's topic: CloudWatch alarms cannot publish to a topic under `alias/aws/sns`), else `null`."
  value       = one(aws_kms_key.topic[*].arn)
}

output "ledger_table_name" {
  description = "Name of the scan ledger, the DynamoDB table with one record per image (latest scan, findings, what was notified)."
  value       = one(aws_dynamodb_table.ledger[*].name)
}

output "ledger_table_arn" {
  description = "ARN of the scan ledger table."
  value       = one(aws_dynamodb_table.ledger[*].arn)
}

output "report_bucket_name" {
  description = "Name of the S3 bucket keeping the exposure reports (`null` without `create_report_bucket`)."
  value       = one(aws_s3_bucket.report[*].id)
}

output "report_bucket_arn" {
  description = "ARN of the S3 bucket keeping the exposure reports (`null` without `create_report_bucket`)."
  value       = one(aws_s3_bucket.report[*].arn)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (`null` when `create_dashboard` is false)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "chat_topic_arn" {
  description = "ARN of the chat topic (notifications in the Amazon Q Developer in chat applications custom-notification format): the created one with `create_chat_topic`, or `chat_topic_arn` when given; `null` otherwise."
  value       = var.create_chat_topic ? one(aws_sns_topic.chat[*].arn) : (var.create ? var.chat_topic_arn : null)
}

output "inspector_findings_queue_url" {
  description = "URL of the queue buffering `Inspector2 Finding` events for the findings function, with `enable_inspector_events`; `null` otherwise."
  value       = one(aws_sqs_queue.inspector_findings[*].url)
}

output "inspector_findings_dead_letter_queue_url" {
  description = "URL of the dead-letter queue of `Inspector2 Finding` events the findings function could not report, with `enable_inspector_events`; `null` otherwise."
  value       = one(aws_sqs_queue.inspector_findings_dlq[*].url)
}

output "publisher_role_arns" {
  description = "ARNs of the roles that publish to the notification topic (the findings and report functions'): what a topic of another account (`allow_external_sns_topic`) must let publish, in its topic policy and, when a customer-managed key encrypts it, its key policy. Empty with `create = false`."
  # Built from the role names (as the policies are): known at plan time, so the topic's owner can grant them in
  # the same plan.
  value = var.create ? local.topic_publisher_roles : []
}

output "team_topic_arns" {
  description = "The topic each team's alerts and reports go to, by team name: the topic the module created for it (`<name_prefix>-<name>`), the team's `sns_topic_arn`, or, for a team without a topic of its own (`create_team_topics`), the module's topic. Empty without `teams` (and with `create = false`)."
  # Built from the names (known at plan time); available once the topics exist.
  value      = local.team_topic_arns
  depends_on = [aws_sns_topic.team]
}

output "team_chat_topic_arns" {
  description = "The chat topic of each team that has one, by team name: the topic the module created for it (`create_chat_topic`: `<name_prefix>-<name>-chat`) or its `chat_topic_arn`; ready for `aws_chatbot_slack_channel_configuration`'s `sns_topic_arns` (in an organization, connect the hub's team chat topics once instead: modules/hub's `team_chat_topic_arns`). Empty without such teams (and with `create = false`)."
  # Built from the names (known at plan time); available once the topics exist.
  value      = local.team_chat_topic_arns
  depends_on = [aws_sns_topic.team_chat]
}
