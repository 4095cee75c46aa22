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
