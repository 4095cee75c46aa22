# The create toggle: with create = false the module creates nothing, whatever else is set, and its outputs are null
# or empty. `terraform test` (make tf-test), offline with the mocked provider. tests/terraform/test_create_toggle.py
# checks that the assertion below names every resource block of the module, so a new resource cannot escape the
# toggle unnoticed.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "create_false_plans_no_resource" {
  command = plan

  variables {
    # What would create every resource, the topic's own key (alarms on the module's topic, no kms_key_arn) included.
    create                  = false
    create_alarms           = true
    enable_inspector_events = true
    create_chat_topic       = true
    email_subscriptions     = ["security@example.com"]
    subscriptions           = { audit = { protocol = "https", endpoint = "https://audit.example.com/sns" } }
    suppressions            = [{ vulnerability_id = "CVE-2024-1234", expires = "2099-01-01", reason = "not reachable" }]
    create_dashboard        = true
    create_report_bucket    = true
    report_bucket_name      = "example-ecr-exposure-reports"
    team_tag_key            = "team"
    teams = [{
      name                = "payments"
      create_chat_topic   = true
      email_subscriptions = ["payments@example.com"]
      subscriptions       = { audit = { protocol = "https", endpoint = "https://audit.example.com/payments" } }
    }]
    hub_report_bucket_name = "example-security-ecr-reports"
    hub_kms_key_arn        = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    # securityhub.tf: the image-deletion rule
    enable_security_hub_export = true
  }

  assert {
    condition = alltrue([for count in [
      length(aws_cloudwatch_dashboard.this),
      length(aws_cloudwatch_event_rule.ecr_image_deleted),
      length(aws_cloudwatch_event_rule.ecr_scan),
      length(aws_cloudwatch_event_rule.inspector_finding),
      length(aws_cloudwatch_event_rule.inspector_scan),
      length(aws_cloudwatch_event_rule.report),
      length(aws_cloudwatch_event_rule.schedule),
      length(aws_cloudwatch_event_target.inspector_finding),
      length(aws_cloudwatch_event_target.this),
      length(aws_cloudwatch_log_group.this),
      length(aws_cloudwatch_metric_alarm.this),
      length(aws_dynamodb_table.ledger),
      length(aws_dynamodb_table_item.suppressions),
      length(aws_dynamodb_table_item.teams),
      length(aws_iam_role.this),
      length(aws_iam_role_policy.this),
      length(aws_iam_role_policy.hub_report),
      length(aws_kms_alias.topic),
      length(aws_kms_key.topic),
      length(aws_lambda_event_source_mapping.images),
      length(aws_lambda_event_source_mapping.inspector_findings),
      length(aws_lambda_function.this),
      length(aws_lambda_function_event_invoke_config.this),
      length(aws_lambda_permission.events),
      length(aws_s3_bucket.report),
      length(aws_s3_bucket_lifecycle_configuration.report),
      length(aws_s3_bucket_ownership_controls.report),
      length(aws_s3_bucket_policy.report),
      length(aws_s3_bucket_public_access_block.report),
      length(aws_s3_bucket_server_side_encryption_configuration.report),
      length(aws_s3_bucket_versioning.report),
      length(aws_sns_topic.chat),
      length(aws_sns_topic.this),
      length(aws_sns_topic.team),
      length(aws_sns_topic.team_chat),
      length(aws_sns_topic_policy.chat),
      length(aws_sns_topic_policy.this),
      length(aws_sns_topic_policy.team),
      length(aws_sns_topic_policy.team_chat),
      length(aws_sns_topic_subscription.email),
      length(aws_sns_topic_subscription.this),
      length(aws_sns_topic_subscription.team),
      length(aws_sns_topic_subscription.team_email),
      length(aws_sqs_queue.dead_letter),
      length(aws_sqs_queue.failed_events),
      length(aws_sqs_queue.inspector_findings),
      length(aws_sqs_queue.inspector_findings_dlq),
      length(aws_sqs_queue.work),
      length(aws_sqs_queue_policy.dead_letter),
      length(aws_sqs_queue_policy.failed_events),
      length(aws_sqs_queue_policy.inspector_findings),
      length(aws_sqs_queue_policy.inspector_findings_dlq),
      length(aws_sqs_queue_policy.work),
    ] : count == 0])
    error_message = "With create = false the module must plan no resource."
  }

  assert {
    condition = alltrue([for value in [
      output.function_names, output.function_arns, output.role_names, output.role_arns, output.log_group_names,
      output.event_rule_names, output.event_rule_arns, output.alarm_arns, output.team_topic_arns,
    ] : length(value) == 0])
    error_message = "With create = false the map outputs must be empty."
  }

  assert {
    condition = alltrue([for value in [
      output.work_queue_url, output.work_queue_arn, output.dead_letter_queue_url, output.dead_letter_queue_arn,
      output.failed_events_queue_url, output.failed_events_queue_arn, output.sns_topic_arn, output.topic_kms_key_arn,
      output.ledger_table_name, output.ledger_table_arn, output.chat_topic_arn, output.inspector_findings_queue_url,
      output.inspector_findings_dead_letter_queue_url,
    ] : value == null])
    error_message = "With create = false the single-value outputs must be null."
  }
}

run "create_false_skips_the_checks_of_what_it_would_create" {
  # Nothing is created, so nothing is refused for where it would have gone (the inputs' own validations still run).
  command = plan

  variables {
    create                 = false
    sns_topic_arn          = "arn:aws:sns:us-east-1:123456789012:another-region"
    create_sns_topic       = false
    severity_thresholds    = {}
    notify_on_scan_failure = false
  }

  assert {
    condition     = output.sns_topic_arn == null && length(output.function_names) == 0
    error_message = "With create = false the outputs must be null or empty, even with sns_topic_arn set."
  }
}

run "create_true_is_the_default" {
  command = plan

  assert {
    condition     = length(aws_lambda_function.this) == 4 && length(aws_sqs_queue.work) == 1 && length(aws_cloudwatch_event_rule.schedule) == 1 && length(aws_cloudwatch_metric_alarm.this) > 0 && length(aws_kms_key.topic) == 1
    error_message = "By default the module creates its resources."
  }
}
