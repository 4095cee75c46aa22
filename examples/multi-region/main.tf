# One deployment per region, one Terraform workspace per region: the workspace name is the region.
#
#   terraform init
#   terraform workspace new eu-west-1 && terraform apply
#   terraform workspace new us-east-1 && terraform apply
#
# The "default" workspace deploys to var.default_region. IAM role names carry the region, so the deployments
# of one account never collide. See README.md.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  # Each workspace keeps its own state. With a shared backend (recommended), for example S3:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "ecr-scan-reporter/terraform.tfstate" # workspaces are stored under env:/<workspace>/
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

locals {
  region = terraform.workspace == "default" ? var.default_region : terraform.workspace
}

provider "aws" {
  region = local.region
}

module "ecr_scan_reporter" {
  source = "../.."

  name_prefix         = var.name_prefix
  schedule_expression = var.schedule_expression
  email_subscriptions = var.notification_emails
  tags                = merge(var.tags, { region = local.region })
}
