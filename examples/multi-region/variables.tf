variable "default_region" {
  description = "Region deployed to from the \"default\" workspace; every other workspace deploys to the region it is named after."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.default_region))
    error_message = "default_region must be an AWS region name such as us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; the same in every region (IAM role names add the region)."
  type        = string
  default     = "ecr-scan-reporter"
}

variable "schedule_expression" {
  description = "When each region's sweep runs."
  type        = string
  default     = "rate(1 day)"
}

variable "notification_emails" {
  description = "Email addresses subscribed to each region's notification topic."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource (the region is added)."
  type        = map(string)
  default     = {}
}
