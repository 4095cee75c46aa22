# A root that creates the KMS key, the notification topic and the alarm topic it hands to the module, as a
# platform team's first configuration does: their ARNs are unknown until apply, so planning it proves that no
# count or for_each of the module depends on them (tests/unknown_arns.tftest.hcl plans it with a real, offline
# provider; the mocked provider would make the ARNs known).

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "give_kms_key" {
  description = "Pass the key created here as kms_key_arn."
  type        = bool
  default     = true
}

variable "give_sns_topic" {
  description = "Pass the topic created here as sns_topic_arn."
  type        = bool
  default     = true
}

variable "give_alarm_topic" {
  description = "Pass the alarm topic created here as alarm_topic_arn."
  type        = bool
  default     = true
}

variable "give_hub" {
  description = "Be a spoke of a hub created here: its key as hub_kms_key_arn, its topic as sns_topic_arn, its bucket's name as hub_report_bucket_name (with give_sns_topic = false)."
  type        = bool
  default     = false
}

resource "aws_kms_key" "reporter" {
  #checkov:skip=CKV2_AWS_64:a test root that terraform test only plans (never applied); the examples show the key policy
  description             = "ecr-scan-reporter test root"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

resource "aws_sns_topic" "notifications" {
  name              = "platform-security-findings"
  kms_master_key_id = aws_kms_key.reporter.arn
}

# A team's own topic, given to the module as the team's sns_topic_arn (tests/unknown_arns.tftest.hcl).
resource "aws_sns_topic" "payments" {
  name              = "payments-security-findings"
  kms_master_key_id = aws_kms_key.reporter.arn
}

# Its chat topic, given as the team's chat_topic_arn (as an organization hub's would be).
resource "aws_sns_topic" "payments_chat" {
  name              = "payments-security-chat"
  kms_master_key_id = aws_kms_key.reporter.arn
}

# A hub's key and topic (modules/hub creates them in the security account; unknown at plan time here too).
resource "aws_kms_key" "hub" {
  #checkov:skip=CKV2_AWS_64:a test root that terraform test only plans (never applied); modules/hub writes the hub's key policy
  description             = "ecr-scan-reporter test root: the hub's key"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

resource "aws_sns_topic" "hub" {
  name              = "hub-notifications"
  kms_master_key_id = aws_kms_key.hub.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "platform-ops-alarms"
  kms_master_key_id = aws_kms_key.reporter.arn
}

module "reporter" {
  source = "../../.."

  create_topic_kms_key    = !var.give_kms_key
  kms_key_arn             = var.give_kms_key ? aws_kms_key.reporter.arn : null
  create_sns_topic        = !var.give_sns_topic && !var.give_hub
  sns_topic_arn           = var.give_hub ? aws_sns_topic.hub.arn : (var.give_sns_topic ? aws_sns_topic.notifications.arn : null)
  alarms_notify_sns_topic = !var.give_alarm_topic
  alarm_topic_arn         = var.give_alarm_topic ? aws_sns_topic.alarms.arn : null

  # A spoke of the hub created here: whether its key is granted, and to whom, is decided when the ARNs are known.
  allow_external_sns_topic = var.give_hub
  hub_kms_key_arn          = var.give_hub ? aws_kms_key.hub.arn : null
  hub_report_bucket_name   = var.give_hub ? "hub-reports-210987654321" : null

  # One team on a topic of this root (unknown at plan), one on the topic the module creates for it (a spoke of the
  # hub creates team topics only when asked: create_team_topics).
  create_team_topics = var.give_hub ? true : null
  team_tag_key       = "team"
  teams = [
    {
      name           = "payments"
      sns_topic_arn  = aws_sns_topic.payments.arn
      chat_topic_arn = aws_sns_topic.payments_chat.arn
      # An endpoint unknown at plan time too (as a queue created here would be), without a queue to create.
      subscriptions = { audit = { protocol = "sqs", endpoint = replace(aws_sns_topic.payments.arn, ":sns:", ":sqs:") } }
    },
    { name = "tools", repository_regex = "^tools/", email_subscriptions = ["tools@example.com"] },
  ]
}

output "kms_key_arn" {
  value = aws_kms_key.reporter.arn
}

output "sns_topic_arn" {
  value = aws_sns_topic.notifications.arn
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "module_sns_topic_arn" {
  value = module.reporter.sns_topic_arn
}

output "team_topic_arns" {
  value = module.reporter.team_topic_arns
}
