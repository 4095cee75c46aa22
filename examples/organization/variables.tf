variable "name_prefix" {
  description = "Prefix of the spokes' resources (the hub's get \"<prefix>-hub\")."
  type        = string
  default     = "ecr-scan"
}

variable "hub_region" {
  description = "The security account's region, where the hub runs."
  type        = string
  default     = "eu-west-1"
}

variable "organization_id" {
  description = "The AWS Organizations id (o-...) whose accounts are spokes; null: the spokes' account only."
  type        = string
  default     = null
}

variable "security_account_role_arn" {
  description = "A role in the security account to assume for the hub; null: the current credentials."
  type        = string
  default     = null
}

variable "spoke_account_role_arn" {
  description = "A role in the spokes' account to assume; null: the current credentials."
  type        = string
  default     = null
}

variable "more_expected_spokes" {
  description = "Spokes deployed elsewhere that the organization report expects (<account>/<region>)."
  type        = list(string)
  default     = ["123456789012/ap-southeast-2"]
}

variable "email_subscriptions" {
  description = "Who receives the organization's alerts and reports."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = { example = "organization" }
}
