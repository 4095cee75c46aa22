# The module with every feature that stores something under kms_key_arn, planned by tests/terraform/test_kms_grants.py
# against moto's STS (the plan reads only the caller identity). The key ARN is a literal variable, so every attribute
# that carries it shows it in the plan (a key created in the same plan would be "known after apply").

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

variable "kms_key_arn" {
  description = "A key of the account and region moto answers for."
  type        = string
}

module "ecr_scan_reporter" {
  source = "../../.."

  name_prefix                = "kms-grants"
  kms_key_arn                = var.kms_key_arn
  create_topic_kms_key       = false # the topic is encrypted with kms_key_arn
  enable_inspector_events    = true
  create_chat_topic          = true
  create_alarms              = true
  create_dashboard           = true
  email_subscriptions        = ["security@example.com"]
  create_report_bucket       = true
  report_bucket_name         = "kms-grants-exposure-reports"
  report_schedule_expression = "rate(7 days)"
  tracing_mode               = "Active"
  suppressions               = [{ vulnerability_id = "CVE-2024-1234", expires = "2099-01-01", reason = "not reachable" }]
  # The teams' topics and chat topics are under the key too; their publishers are the findings and report roles.
  team_tag_key = "team"
  teams = [
    { name = "payments", repository_regex = "^payments/", create_chat_topic = true, email_subscriptions = ["payments@example.com"] },
    { name = "tools", repository_regex = "^tools/" },
  ]
}
