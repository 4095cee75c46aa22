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
