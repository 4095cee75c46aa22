output "region" {
  description = "The region this workspace deploys to."
  value       = local.region

  precondition {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", local.region))
    error_message = "The workspace \"${terraform.workspace}\" is not named after an AWS region: create one per region, for example `terraform workspace new eu-west-1`."
  }
}

output "function_names" {
  description = "The four Lambda functions in this region."
  value       = module.ecr_scan_reporter.function_names
}

output "role_names" {
  description = "The functions' IAM roles: their names carry the region, so regions never collide."
  value       = module.ecr_scan_reporter.role_names
}

output "sns_topic_arn" {
  description = "Where this region's notifications are published."
  value       = module.ecr_scan_reporter.sns_topic_arn
}

output "kms_key_arn" {
  description = "This region's KMS key: the queues, the topic and the logs are encrypted with it."
  value       = aws_kms_key.reporter.arn
}
