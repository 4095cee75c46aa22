variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "notification_email" {
  description = "Email address that receives the notifications (confirm the subscription from the email AWS sends)."
  type        = string
  default     = "security@example.com"
}

variable "team_a_email" {
  description = "Email address of team-a's on-call: it receives the notifications of team-a's repositories only."
  type        = string
  default     = "team-a-oncall@example.com"
}

variable "permissions_boundary_arn" {
  description = "IAM permissions boundary your organization requires on roles (it must allow what the functions do), or null."
  type        = string
  default     = null
}

variable "ops_alarm_topic_arn" {
  description = "SNS topic of the operations team for the module's alarms (same region), or null to alarm on the notification topic."
  type        = string
  default     = null
}

variable "slack_team_id" {
  description = "ID of the Slack workspace authorized in Amazon Q Developer in chat applications (e.g. T0123ABCD), or null: no Slack channel."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "ID of the Slack channel that shows the notifications (e.g. C0123ABCD); needed with slack_team_id."
  type        = string
  default     = null
}
