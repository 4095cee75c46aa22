variable "default_region" {
  description = "Region deployed to from the \"default\" workspace; every other workspace deploys to the region it is named after."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.default_region))
    error_message = "default_region must be an AWS region name such as eu-west-1."
  }
}

variable "role_arn" {
  description = "A role of the workload account to assume; null: the current credentials (the account is the credentials')."
  type        = string
  default     = null
}

variable "hub_state" {
  description = "Where the hub's state is (terraform_remote_state's backend and config): its output spoke_inputs is what this spoke reads."
  type = object({
    backend = string
    config  = map(string)
  })
  default = { backend = "local", config = { path = "../hub/terraform.tfstate" } }
}

variable "name_prefix" {
  description = "Prefix of the spoke's resources; the same in every account and region (IAM role names add the region)."
  type        = string
  default     = "ecr-scan-reporter"
}

variable "alarm_emails" {
  description = "Who receives this spoke's alarms (the platform team running it)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = { example = "organization" }
}
