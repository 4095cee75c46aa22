output "function_names" {
  description = "The four Lambda functions."
  value       = module.ecr_scan_reporter.function_names
}

output "work_queue_url" {
  description = "The work queue (one message per repository to sweep)."
  value       = module.ecr_scan_reporter.work_queue_url
}

output "dead_letter_queue_url" {
  description = "Repositories whose sweep kept failing."
  value       = module.ecr_scan_reporter.dead_letter_queue_url
}

output "failed_events_queue_url" {
  description = "Invocations and events that failed for good."
  value       = module.ecr_scan_reporter.failed_events_queue_url
}

output "sns_topic_arn" {
  description = "Where notifications are published."
  value       = module.ecr_scan_reporter.sns_topic_arn
}

output "kms_key_arn" {
  description = "The key that encrypts the queues, the topic and the logs."
  value       = aws_kms_key.reporter.arn
}

output "chat_topic_arn" {
  description = "The chat topic (Amazon Q Developer in chat applications format)."
  value       = module.ecr_scan_reporter.chat_topic_arn
}

output "slack_channel_configuration_arn" {
  description = "The Slack channel configuration showing the chat topic (null without slack_team_id)."
  value       = one(aws_chatbot_slack_channel_configuration.security[*].chat_configuration_arn)
}

output "report_bucket_name" {
  description = "The bucket keeping the exposure reports."
  value       = module.ecr_scan_reporter.report_bucket_name
}
