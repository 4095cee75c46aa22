# The mocked AWS provider of the hub's tests: the security account 210987654321 in eu-west-1. The key's and the
# topic's ARNs are given at plan time (override_during), so the policies that name them can be asserted on.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "210987654321"
    arn        = "arn:aws:iam::210987654321:user/test"
    user_id    = "AIDATEST"
  }
}

mock_data "aws_region" {
  defaults = {
    name   = "eu-west-1"
    region = "eu-west-1"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_resource "aws_kms_key" {
  override_during = plan
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_sns_topic" {
  override_during = plan
  defaults        = { arn = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications" }
}

mock_resource "aws_s3_bucket" {
  override_during = plan
  defaults        = { arn = "arn:aws:s3:::acme-security-ecr-reports", id = "acme-security-ecr-reports" }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::210987654321:role/mock" }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:eu-west-1:210987654321:function:mock"
    invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:210987654321:function:mock/invocations"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = { arn = "arn:aws:events:eu-west-1:210987654321:rule/mock" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:210987654321:log-group:mock" }
}
