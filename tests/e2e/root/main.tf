# A thin root around the module for the end-to-end suite and `make demo`: the module as a user would call it,
# with the few variables a test needs to pick (a short schedule, the repository filters, the thresholds).
# No endpoints here: the provider reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_ECR from the environment, which the
# suite points at the emulators (or at LocalStack). The state path is given at `terraform init`
# (-backend-config=path=...), so every run keeps its state in its own temporary directory.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  backend "local" {}
}

provider "aws" {
  region = var.region
}

module "reporter" {
  source = "../../.."

  name_prefix              = var.name_prefix
  schedule_expression      = var.schedule_expression
  repository_include_regex = var.repository_include_regex
  repository_exclude_regex = var.repository_exclude_regex
  scan_expiry_days         = var.scan_expiry_days
  severity_thresholds      = var.severity_thresholds
  images_timeout_seconds   = 60
  max_receive_count        = 3
  log_retention_days       = 1
  log_level                = var.log_level
  tags                     = { purpose = "e2e" }

  suppressions      = var.suppressions
  create_chat_topic = var.create_chat_topic

  # Two teams with different thresholds (tests/e2e/test_pipeline_teams.py); the tag cache off, so a changed tag
  # decides the next result. The module's topic still receives every notification (the default).
  teams                  = var.teams
  team_tag_key           = "team"
  team_tag_cache_seconds = 0

  # Images in breach also as Security Hub findings (moto's Security Hub; tests/e2e/test_pipeline_securityhub.py).
  enable_security_hub_export = true

  # The exposure report: written to a bucket of its own per region (bucket names are global), emptied on destroy.
  create_report_bucket        = true
  report_bucket_name          = "${var.name_prefix}-reports-${var.region}"
  report_bucket_force_destroy = true
}

variable "region" {
  description = "Region to deploy to."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "e2e-esr"
}

variable "schedule_expression" {
  description = "The sweep schedule; the suite uses rate(1 minute), the shortest EventBridge accepts."
  type        = string
  default     = "rate(1 minute)"
}

variable "repository_include_regex" {
  description = "Repositories swept and reported on."
  type        = string
  default     = "^team/"
}

variable "repository_exclude_regex" {
  description = "Repositories skipped even when included."
  type        = string
  default     = "scratch"
}

variable "scan_expiry_days" {
  description = "Scans older than this are repeated."
  type        = number
  default     = 7
}

variable "severity_thresholds" {
  description = "Findings tolerated per severity (null = ignored)."
  type = object({
    critical = optional(number)
    high     = optional(number)
    medium   = optional(number)
    low      = optional(number)
  })
  default = {
    critical = 0
    high     = 2
  }
}

variable "log_level" {
  description = "Log level of the functions."
  type        = string
  default     = "DEBUG"
}

variable "suppressions" {
  description = "Accepted risks (tests/e2e/test_pipeline_alerts.py): one still accepted, one expired, both for team/alerts only."
  # As the module types it: a misspelt key reaches the module's validation instead of being dropped here.
  type = list(map(string))
  default = [
    { vulnerability_id = "CVE-2026-7001", repository_regex = "^team/alerts$", expires = "2099-12-31", reason = "e2e: accepted, not reachable" },
    { vulnerability_id = "CVE-2026-7002", repository_regex = "^team/alerts$", expires = "2020-01-01", reason = "e2e: accepted until 2020" },
  ]
}

variable "teams" {
  description = "The teams (tests/e2e/test_pipeline_teams.py): api alerts on CRITICAL or more than 2 HIGH (the module's thresholds here), web on CRITICAL only."
  type        = any
  default = [
    { name = "api", repository_regex = "^team/api", severity_thresholds = { critical = 0, high = 2 } },
    { name = "web", repository_regex = "^team/web", severity_thresholds = { critical = 0 } },
  ]
}

variable "create_chat_topic" {
  description = "Create the chat topic (tests/e2e/test_pipeline_alerts.py subscribes to it)."
  type        = bool
  default     = true
}

output "reporter" {
  description = "Every output of the module, as one object."
  value       = module.reporter
}
