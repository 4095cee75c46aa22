# The hub with a team whose channel is created in the same root (an SQS queue: its ARN is unknown until applied),
# as an organization's first plan has it (tests/teams.tftest.hcl plans it with the mocked provider, which leaves
# the queue's ARN unknown at plan time). Whether a team's topic, chat topic and subscriptions exist must not depend
# on that ARN.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

resource "aws_sqs_queue" "payments" {
  name                    = "payments-channel"
  sqs_managed_sse_enabled = true
}

module "hub" {
  source = "../../.."

  organization_id    = "o-a1b2c3d4e5"
  spoke_regions      = ["eu-west-1"]
  report_bucket_name = "acme-security-ecr-reports"
  teams = [
    {
      name              = "payments"
      repository_regex  = "^payments/"
      create_chat_topic = true
      subscriptions     = { channel = { protocol = "sqs", endpoint = aws_sqs_queue.payments.arn } }
    },
    { name = "tools", repository_regex = "^tools/" },
  ]
}

output "hub" {
  value = module.hub
}
