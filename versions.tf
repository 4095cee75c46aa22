terraform {
  # optional() object attributes need 1.3; the module's own `terraform test` suite (mock_provider) needs 1.7.
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.73: tags on event source mappings (with its 5.70-5.72 fixes) and logging_config; tested with 5.100.
      version = ">= 5.73.0, < 7.0.0"
    }
  }
}
