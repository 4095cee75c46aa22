terraform {
  # The module's own `terraform test` suite (mock_provider) needs 1.7, as the root module's.
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }
}
