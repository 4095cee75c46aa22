# What the module plans, asserted offline: `terraform test` from the repository root (make tf-test).
# The AWS provider is mocked (no credentials, no network); the data sources are pinned to one account and region.
# Runs use `command = apply` where an assertion needs values AWS would compute (ARNs, URLs): with a mock provider
# that "apply" creates nothing, it only fills computed attributes with generated values.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

# The ARNs AWS would give the default resources: distinct where an assertion tells resources apart, and equal to
# the ARNs the module builds from names for its policies (so the assertions below also check those).

override_resource {
  target = aws_sqs_queue.work
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-work"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/ecr-scan-reporter-work"
  }
}
override_resource {
  target = aws_sqs_queue.dead_letter
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-work-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/ecr-scan-reporter-work-dlq"
  }
}
override_resource {
  target = aws_sqs_queue.failed_events
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-failed-events"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/ecr-scan-reporter-failed-events"
  }
}
override_resource {
  target = aws_iam_role.this["repositories"]
  values = { arn = "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-repositories" }
}
override_resource {
  target = aws_iam_role.this["images"]
  values = { arn = "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-images" }
}
override_resource {
  target = aws_iam_role.this["findings"]
  values = { arn = "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-findings" }
}
override_resource {
  target = aws_iam_role.this["report"]
  values = { arn = "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-report" }
}
override_resource {
  target = aws_cloudwatch_log_group.this["repositories"]
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/ecr-scan-reporter-repositories" }
}
override_resource {
  target = aws_cloudwatch_log_group.this["images"]
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/ecr-scan-reporter-images" }
}
override_resource {
  target = aws_cloudwatch_log_group.this["findings"]
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/ecr-scan-reporter-findings" }
}
override_resource {
  target = aws_cloudwatch_log_group.this["report"]
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/ecr-scan-reporter-report" }
}
override_resource {
  target = aws_lambda_function.this["images"]
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:ecr-scan-reporter-images" }
}
override_resource {
  target = aws_cloudwatch_event_rule.schedule
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-schedule" }
}
override_resource {
  target = aws_cloudwatch_event_rule.ecr_scan
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-ecr-image-scan" }
}
override_resource {
  target = aws_cloudwatch_event_rule.inspector_scan[0]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-inspector2-scan" }
}
override_resource {
  target = aws_cloudwatch_event_rule.report[0]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-report" }
}
override_resource {
  target = aws_sns_topic.this[0]
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications" }
}

run "defaults" {
  command = apply

  # --- what is created ---------------------------------------------------------------------------------------------

  assert {
    condition     = length(aws_lambda_function.this) == 4 && length(aws_iam_role.this) == 4 && length(aws_iam_role_policy.this) == 4 && length(aws_cloudwatch_log_group.this) == 4
    error_message = "Expected four functions, each with its own role, policy and log group."
  }
  assert {
    condition     = length(aws_sns_topic.this) == 1 && length(aws_sns_topic_subscription.email) == 0
    error_message = "Expected one created topic and no subscriptions by default."
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.this) == 4 && length(aws_lambda_permission.events) == 4 && length(aws_cloudwatch_event_rule.inspector_scan) == 1 && length(aws_cloudwatch_event_rule.report) == 1
    error_message = "Expected four rule targets (schedule, ECR scan, Inspector scan, report), each with its invoke permission."
  }
  assert {
    condition     = toset(keys(aws_lambda_function_event_invoke_config.this)) == toset(["repositories", "findings", "report"])
    error_message = "Expected an async invoke config for exactly the EventBridge-invoked functions."
  }

  # --- names: global (IAM) names carry the region ---------------------------------------------------------------

  assert {
    condition     = aws_iam_role.this["repositories"].name == "ecr-scan-reporter-eu-west-1-repositories"
    error_message = "IAM role names must be <prefix>-<region>-<function>, got ${aws_iam_role.this["repositories"].name}."
  }
  assert {
    condition     = alltrue([for role in aws_iam_role.this : length(role.name) <= 64 && strcontains(role.name, "eu-west-1")])
    error_message = "Every IAM role name must carry the region and fit IAM's 64 characters."
  }
  assert {
    condition     = aws_lambda_function.this["images"].function_name == "ecr-scan-reporter-images" && aws_sqs_queue.work[0].name == "ecr-scan-reporter-work"
    error_message = "Regional names must be <prefix>-<purpose>."
  }

  # --- encryption at rest --------------------------------------------------------------------------------------

  assert {
    condition     = alltrue([for queue in [aws_sqs_queue.work[0], aws_sqs_queue.dead_letter[0], aws_sqs_queue.failed_events[0]] : queue.sqs_managed_sse_enabled == true && queue.kms_master_key_id == null])
    error_message = "Without kms_key_arn every queue must use SQS-managed server-side encryption."
  }
  assert {
    condition     = aws_sns_topic.this[0].kms_master_key_id == aws_kms_key.topic[0].arn
    error_message = "Without kms_key_arn the topic must be encrypted with the module's own key, which the alarms can use (tests/alarms.tftest.hcl)."
  }

  # --- the work queue, its dead-letter queue and the failed-events queue ----------------------------------------

  assert {
    condition     = jsondecode(aws_sqs_queue.work[0].redrive_policy).deadLetterTargetArn == aws_sqs_queue.dead_letter[0].arn
    error_message = "The work queue must redrive to the dead-letter queue."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.work[0].redrive_policy).maxReceiveCount == 5
    error_message = "maxReceiveCount must default to 5."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.dead_letter[0].redrive_allow_policy).sourceQueueArns == [aws_sqs_queue.work[0].arn]
    error_message = "The dead-letter queue must allow exactly the work queue as its source (the ARN it builds must match)."
  }
  assert {
    condition     = aws_sqs_queue.work[0].visibility_timeout_seconds >= 6 * aws_lambda_function.this["images"].timeout
    error_message = "The work queue's visibility timeout must be at least six times the images function's timeout."
  }
  assert {
    condition     = aws_sqs_queue.dead_letter[0].message_retention_seconds == 1209600 && aws_sqs_queue.failed_events[0].message_retention_seconds == 1209600
    error_message = "Dead letters and failed events must be kept 14 days."
  }
  assert {
    condition = alltrue([
      for policy in [aws_sqs_queue_policy.work[0].policy, aws_sqs_queue_policy.dead_letter[0].policy, aws_sqs_queue_policy.failed_events[0].policy] :
      anytrue([for statement in jsondecode(policy).Statement : statement.Effect == "Deny" && try(statement.Condition.Bool["aws:SecureTransport"], null) == "false"])
    ])
    error_message = "Every queue policy must deny requests that do not use TLS."
  }
  assert {
    condition = toset(flatten([
      for statement in jsondecode(aws_sqs_queue_policy.work[0].policy).Statement : statement.Principal.AWS if statement.Effect == "Allow"
      ])) == toset([aws_iam_role.this["repositories"].arn, aws_iam_role.this["images"].arn]
    )
    error_message = "The work queue policy must allow only the repositories and images roles."
  }

  assert {
    condition = toset(flatten([
      for statement in jsondecode(aws_sqs_queue_policy.failed_events[0].policy).Statement :
      statement.Condition.ArnEquals["aws:SourceArn"] if try(statement.Principal.Service, "") == "events.amazonaws.com"
    ])) == toset([aws_cloudwatch_event_rule.schedule[0].arn, aws_cloudwatch_event_rule.ecr_scan[0].arn, aws_cloudwatch_event_rule.inspector_scan[0].arn, "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-inspector2-finding", aws_cloudwatch_event_rule.report[0].arn])
    error_message = "Only this module's rules may dead-letter events to the failed-events queue."
  }

  # --- the event source mapping --------------------------------------------------------------------------------

  assert {
    condition     = aws_lambda_event_source_mapping.images[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The event source mapping must report batch item failures."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.images[0].scaling_config[0].maximum_concurrency == 2 && aws_lambda_event_source_mapping.images[0].batch_size == 5
    error_message = "The event source mapping must default to maximum concurrency 2 and batch size 5."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.images[0].event_source_arn == aws_sqs_queue.work[0].arn && aws_lambda_event_source_mapping.images[0].function_name == aws_lambda_function.this["images"].arn
    error_message = "The event source mapping must connect the work queue to the images function."
  }

  # --- functions: code, handlers, environment, logging ---------------------------------------------------------

  assert {
    condition = alltrue([
      for key, function in aws_lambda_function.this :
      function.handler == "ecr_scan_reporter.handlers.${key}.handler" && function.runtime == "python3.13" && function.architectures == tolist(["arm64"]) && endswith(function.filename, "lambda/dist/ecr-scan-reporter.zip")
    ])
    error_message = "Each function must run ecr_scan_reporter.handlers.<function>.handler from the committed zip on python3.13/arm64."
  }
  assert {
    condition     = aws_lambda_function.this["repositories"].timeout == 300 && aws_lambda_function.this["images"].timeout == 300 && aws_lambda_function.this["findings"].timeout == 60
    error_message = "Timeouts must be 300 s (repositories, images) and 60 s (findings)."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.this["repositories"].environment[0].variables)) == toset(["QUEUE_URL", "REPOSITORY_INCLUDE_REGEX", "REPOSITORY_EXCLUDE_REGEX", "LEDGER_TABLE_NAME", "DAILY_SCAN_BUDGET", "SCAN_EXPIRY_DAYS", "LOG_LEVEL", "METRICS_NAMESPACE"])
    error_message = "The repositories function must get exactly the variables docs/DESIGN.md lists."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.this["images"].environment[0].variables)) == toset(["QUEUE_URL", "SCAN_EXPIRY_DAYS", "ONLY_IMAGES_PULLED_WITHIN_DAYS", "MAX_IMAGES_PER_REPOSITORY", "IN_USE_DAYS", "DAILY_SCAN_BUDGET", "LEDGER_TABLE_NAME", "LOG_LEVEL", "METRICS_NAMESPACE"])
    error_message = "The images function must get exactly the variables docs/DESIGN.md lists."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.this["findings"].environment[0].variables)) == toset(["SNS_TOPIC_ARN", "SEVERITY_THRESHOLDS", "NOTIFY_ON_SCAN_FAILURE", "REPOSITORY_INCLUDE_REGEX", "REPOSITORY_EXCLUDE_REGEX", "LEDGER_TABLE_NAME", "NOTIFY_ON", "NOTIFY_ON_RESOLVED", "RENOTIFY_AFTER_DAYS", "SCAN_EXPIRY_DAYS", "FINDINGS_IN_NOTIFICATION", "SUPPRESSIONS_SHA256", "CHAT_TOPIC_ARN", "TEAMS_SHA256", "TEAM_TAG_CACHE_SECONDS", "SECURITY_HUB_PRODUCT_ARN", "LOG_LEVEL", "METRICS_NAMESPACE"])
    error_message = "The findings function must get exactly the variables docs/DESIGN.md lists."
  }
  assert {
    condition = (
      aws_lambda_function.this["repositories"].environment[0].variables.QUEUE_URL == aws_sqs_queue.work[0].url &&
      aws_lambda_function.this["images"].environment[0].variables.QUEUE_URL == aws_sqs_queue.work[0].url &&
      aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == aws_sns_topic.this[0].arn
    )
    error_message = "QUEUE_URL must be the work queue's URL and SNS_TOPIC_ARN the created topic."
  }
  assert {
    condition = (
      aws_lambda_function.this["images"].environment[0].variables.SCAN_EXPIRY_DAYS == "7" &&
      aws_lambda_function.this["images"].environment[0].variables.ONLY_IMAGES_PULLED_WITHIN_DAYS == "" &&
      aws_lambda_function.this["images"].environment[0].variables.MAX_IMAGES_PER_REPOSITORY == "" &&
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON_SCAN_FAILURE == "true" &&
      aws_lambda_function.this["findings"].environment[0].variables.REPOSITORY_INCLUDE_REGEX == ".*" &&
      aws_lambda_function.this["findings"].environment[0].variables.REPOSITORY_EXCLUDE_REGEX == "" &&
      aws_lambda_function.this["findings"].environment[0].variables.LOG_LEVEL == "INFO"
    )
    error_message = "Defaults must reach the environment in config.py's forms: numbers as text, unset as \"\", booleans as true/false."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS) == { CRITICAL = 0, HIGH = 0, MEDIUM = null, LOW = null }
    error_message = "Default thresholds must reach the findings function as {\"CRITICAL\":0,\"HIGH\":0,\"MEDIUM\":null,\"LOW\":null}, got ${aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS}."
  }
  assert {
    condition = alltrue([
      for key, function in aws_lambda_function.this :
      function.logging_config[0].log_format == "JSON" && function.logging_config[0].log_group == aws_cloudwatch_log_group.this[key].name
    ])
    error_message = "Each function must log JSON to its own log group."
  }
  assert {
    condition     = alltrue([for group in aws_cloudwatch_log_group.this : group.retention_in_days == 30 && startswith(group.name, "/aws/lambda/ecr-scan-reporter-")])
    error_message = "Each log group must be /aws/lambda/<function> with 30 days' retention by default."
  }

  # --- asynchronous invocations: retries, then the failed-events queue ---------------------------------------------

  assert {
    condition     = alltrue([for config in aws_lambda_function_event_invoke_config.this : config.destination_config[0].on_failure[0].destination == aws_sqs_queue.failed_events[0].arn])
    error_message = "Failed asynchronous invocations must go to the failed-events queue."
  }
  assert {
    condition     = alltrue([for target in aws_cloudwatch_event_target.this : target.dead_letter_config[0].arn == aws_sqs_queue.failed_events[0].arn])
    error_message = "Events a rule cannot deliver must go to the failed-events queue."
  }

  # --- rules and permissions -----------------------------------------------------------------------------------

  assert {
    condition     = aws_cloudwatch_event_rule.schedule[0].schedule_expression == "rate(1 day)"
    error_message = "The sweep must run daily by default."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ecr_scan[0].event_pattern).detail["scan-status"] == ["COMPLETE", "FAILED"]
    error_message = "With notify_on_scan_failure the ECR rule must match COMPLETE and FAILED scans."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.inspector_scan[0].event_pattern)["detail-type"] == ["Inspector2 Scan"]
    error_message = "The Inspector rule must match Inspector2 Scan events."
  }
  assert {
    condition = (
      aws_lambda_permission.events["schedule"].source_arn == aws_cloudwatch_event_rule.schedule[0].arn &&
      aws_lambda_permission.events["ecr_scan"].source_arn == aws_cloudwatch_event_rule.ecr_scan[0].arn &&
      aws_lambda_permission.events["inspector_scan"].source_arn == aws_cloudwatch_event_rule.inspector_scan[0].arn &&
      aws_lambda_permission.events["schedule"].function_name == aws_lambda_function.this["repositories"].function_name &&
      aws_lambda_permission.events["ecr_scan"].function_name == aws_lambda_function.this["findings"].function_name
    )
    error_message = "Each invoke permission must be scoped to its rule's ARN and target the right function."
  }

  # --- least privilege -------------------------------------------------------------------------------------------

  assert {
    condition = alltrue(flatten([
      for policy in aws_iam_role_policy.this : [
        for statement in jsondecode(policy.policy).Statement : [for action in statement.Action : !strcontains(action, "*")]
      ]
    ]))
    error_message = "No IAM policy may use a wildcard action."
  }
  assert {
    condition = toset(flatten([
      for key, policy in aws_iam_role_policy.this : [
        for statement in jsondecode(policy.policy).Statement : statement.Action if contains(statement.Resource, "*")
      ]
    ])) == toset(["ecr:GetAccountSetting", "ecr:GetRegistryScanningConfiguration", "inspector2:ListFindings"])
    error_message = "The only \"*\" resources must be for ecr:GetAccountSetting, ecr:GetRegistryScanningConfiguration and inspector2:ListFindings (no resource-level permissions)."
  }
  assert {
    condition = alltrue([
      for key, policy in aws_iam_role_policy.this : anytrue([
        for statement in jsondecode(policy.policy).Statement :
        statement.Resource == ["${aws_cloudwatch_log_group.this[key].arn}:*"] && statement.Action == ["logs:CreateLogStream", "logs:PutLogEvents"]
      ])
    ])
    error_message = "Each function may write only to its own log group."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_iam_role_policy.this["images"].policy).Statement :
      statement.Resource == ["arn:aws:ecr:eu-west-1:123456789012:repository/*"] && contains(statement.Action, "ecr:StartImageScan")
    ])
    error_message = "ECR permissions must be scoped to this account's and region's repositories."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      statement.Action == ["sns:Publish"] && statement.Resource == [aws_sns_topic.this[0].arn]
    ])
    error_message = "The findings function may publish to the created topic."
  }
  assert {
    condition     = alltrue([for policy in aws_iam_role_policy.this : !strcontains(policy.policy, "kms:")])
    error_message = "Without kms_key_arn no policy grants KMS permissions."
  }

  # --- tags ------------------------------------------------------------------------------------------------------

  assert {
    condition = alltrue([
      for tags in concat(
        [for function in aws_lambda_function.this : function.tags],
        [for role in aws_iam_role.this : role.tags],
        [for group in aws_cloudwatch_log_group.this : group.tags],
        [aws_sqs_queue.work[0].tags, aws_sqs_queue.dead_letter[0].tags, aws_sqs_queue.failed_events[0].tags, aws_sns_topic.this[0].tags],
        [aws_cloudwatch_event_rule.schedule[0].tags, aws_cloudwatch_event_rule.ecr_scan[0].tags, aws_lambda_event_source_mapping.images[0].tags],
      ) : tags["terraform-module"] == "ecr-scan-reporter"
    ])
    error_message = "Every taggable resource must carry the module tag."
  }
}

run "customized" {
  command = apply

  variables {
    name_prefix                    = "scans"
    schedule_expression            = "cron(0 6 * * ? *)"
    repository_include_regex       = "^team-a/"
    repository_exclude_regex       = "(^|/)sandbox-"
    scan_expiry_days               = 14
    severity_thresholds            = { critical = 1, medium = 10 }
    notify_on_scan_failure         = false
    enable_inspector_events        = false
    only_images_pulled_within_days = 90
    max_images_per_repository      = 25
    max_scan_concurrency           = 10
    images_batch_size              = 2
    images_timeout_seconds         = 600
    max_receive_count              = 3
    sns_topic_arn                  = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
    create_sns_topic               = false
    email_subscriptions            = ["a@example.com", "b@example.com"]
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key           = false
    lambda_runtime                 = "python3.12"
    lambda_architecture            = "x86_64"
    log_retention_days             = 90
    log_level                      = "WARNING"
    permissions_boundary_arn       = "arn:aws:iam::123456789012:policy/boundary"
    tags                           = { team = "security" }
  }

  assert {
    condition     = length(aws_sns_topic.this) == 0
    error_message = "With sns_topic_arn no topic may be created."
  }
  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.SNS_TOPIC_ARN == "arn:aws:sns:eu-west-1:123456789012:security-alerts" &&
      anytrue([for statement in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : statement.Action == ["sns:Publish"] && statement.Resource == ["arn:aws:sns:eu-west-1:123456789012:security-alerts"]])
    )
    error_message = "The findings function must publish to (and only be allowed to publish to) the given topic."
  }
  assert {
    condition     = toset([for subscription in aws_sns_topic_subscription.email : subscription.endpoint]) == toset(["a@example.com", "b@example.com"]) && alltrue([for subscription in aws_sns_topic_subscription.email : subscription.topic_arn == "arn:aws:sns:eu-west-1:123456789012:security-alerts" && subscription.protocol == "email"])
    error_message = "Each email address must be subscribed to the topic."
  }
  assert {
    condition     = alltrue([for queue in [aws_sqs_queue.work[0], aws_sqs_queue.dead_letter[0], aws_sqs_queue.failed_events[0]] : queue.kms_master_key_id == var.kms_key_arn])
    error_message = "With kms_key_arn every queue must be encrypted with that key."
  }
  assert {
    condition     = alltrue([for group in aws_cloudwatch_log_group.this : group.kms_key_id == var.kms_key_arn && group.retention_in_days == 90])
    error_message = "With kms_key_arn every log group must be encrypted with that key, and keep the chosen retention."
  }
  assert {
    condition = alltrue([
      for policy in aws_iam_role_policy.this : anytrue([
        for statement in jsondecode(policy.policy).Statement : statement.Action == ["kms:Decrypt", "kms:GenerateDataKey"] && statement.Resource == [var.kms_key_arn]
      ])
    ])
    error_message = "With kms_key_arn every function may use that key (and only that key)."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS) == { CRITICAL = 1, HIGH = null, MEDIUM = 10, LOW = null }
    error_message = "Thresholds must reach the findings function with upper-case keys, omitted severities as null; got ${aws_lambda_function.this["findings"].environment[0].variables.SEVERITY_THRESHOLDS}."
  }
  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.NOTIFY_ON_SCAN_FAILURE == "false" &&
      aws_lambda_function.this["repositories"].environment[0].variables.REPOSITORY_INCLUDE_REGEX == "^team-a/" &&
      aws_lambda_function.this["repositories"].environment[0].variables.REPOSITORY_EXCLUDE_REGEX == "(^|/)sandbox-" &&
      aws_lambda_function.this["findings"].environment[0].variables.REPOSITORY_EXCLUDE_REGEX == "(^|/)sandbox-" &&
      aws_lambda_function.this["images"].environment[0].variables.SCAN_EXPIRY_DAYS == "14" &&
      aws_lambda_function.this["images"].environment[0].variables.ONLY_IMAGES_PULLED_WITHIN_DAYS == "90" &&
      aws_lambda_function.this["images"].environment[0].variables.MAX_IMAGES_PER_REPOSITORY == "25" &&
      aws_lambda_function.this["images"].environment[0].variables.LOG_LEVEL == "WARNING" &&
      aws_lambda_function.this["images"].logging_config[0].application_log_level == "WARN"
    )
    error_message = "Every setting must reach the functions' environment in config.py's forms."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ecr_scan[0].event_pattern).detail["scan-status"] == ["COMPLETE"] && length(aws_cloudwatch_event_rule.inspector_scan) == 0
    error_message = "Without notify_on_scan_failure only COMPLETE scans match; without enable_inspector_events there is no Inspector rule."
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_event_target.this)) == toset(["schedule", "ecr_scan", "report"]) && toset(keys(aws_lambda_permission.events)) == toset(["schedule", "ecr_scan", "report"])
    error_message = "Without enable_inspector_events only the schedule and ECR rules have targets and permissions."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.schedule[0].schedule_expression == "cron(0 6 * * ? *)"
    error_message = "The schedule must use schedule_expression."
  }
  assert {
    condition = (
      aws_sqs_queue.work[0].visibility_timeout_seconds == 3600 &&
      aws_lambda_function.this["images"].timeout == 600 &&
      jsondecode(aws_sqs_queue.work[0].redrive_policy).maxReceiveCount == 3 &&
      aws_lambda_event_source_mapping.images[0].scaling_config[0].maximum_concurrency == 10 &&
      aws_lambda_event_source_mapping.images[0].batch_size == 2
    )
    error_message = "images_timeout_seconds, max_receive_count, max_scan_concurrency and images_batch_size must reach the queue, function and mapping."
  }
  assert {
    condition     = alltrue([for role in aws_iam_role.this : role.permissions_boundary == var.permissions_boundary_arn && startswith(role.name, "scans-eu-west-1-")])
    error_message = "Every role must carry the permissions boundary and the prefix."
  }
  assert {
    condition     = alltrue([for function in aws_lambda_function.this : function.runtime == "python3.12" && function.architectures == tolist(["x86_64"]) && function.tags == tomap({ team = "security", "terraform-module" = "ecr-scan-reporter" })])
    error_message = "Runtime, architecture and tags must reach every function."
  }
}

# Policies and wiring are known when planning, not "(known after apply)": reviewers and compliance checks of a
# plan read the real documents.

run "policies_are_known_at_plan_time" {
  command = plan

  assert {
    condition     = alltrue([for policy in aws_iam_role_policy.this : length(jsondecode(policy.policy).Statement) >= 3])
    error_message = "The functions' policies must be known at plan time."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.work[0].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-work-dlq"
    error_message = "The work queue's redrive policy must be known at plan time."
  }
  assert {
    condition     = alltrue([for policy in [aws_sqs_queue_policy.work[0].policy, aws_sqs_queue_policy.dead_letter[0].policy, aws_sqs_queue_policy.failed_events[0].policy] : length(jsondecode(policy).Statement) >= 1])
    error_message = "The queue policies must be known at plan time."
  }
}

# Two regions of one account: every IAM name differs, so two workspaces never collide.

run "region_us_east_1" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = {
      name   = "us-east-1"
      region = "us-east-1"
    }
  }
}

run "region_ap_southeast_2" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = {
      name   = "ap-southeast-2"
      region = "ap-southeast-2"
    }
  }

  assert {
    condition     = length(setintersection(toset(values(run.region_us_east_1.role_names)), toset(values(output.role_names)))) == 0
    error_message = "IAM role names must differ between regions: ${jsonencode(run.region_us_east_1.role_names)} vs ${jsonencode(output.role_names)}."
  }
  assert {
    condition     = output.role_names["findings"] == "ecr-scan-reporter-ap-southeast-2-findings"
    error_message = "IAM role names must carry the region."
  }
  assert {
    condition     = output.function_names == run.region_us_east_1.function_names
    error_message = "Regional names need no region: they are the same in every region."
  }
}

run "longest_prefix_fits_iam_limits" {
  command = plan

  variables {
    name_prefix = "abcdefghijklmnopqrstuvwxyz012345" # 32 characters, the maximum
  }
  override_data {
    target = data.aws_region.current
    values = {
      name   = "ap-southeast-5"
      region = "ap-southeast-5"
    }
  }

  assert {
    condition     = length(output.role_names["repositories"]) <= 64
    error_message = "The longest role name must fit IAM's 64 characters: ${output.role_names["repositories"]}."
  }
}

run "role_name_too_long_is_refused_at_plan" {
  command = plan

  variables {
    name_prefix = "abcdefghijklmnopqrstuvwxyz012345"
  }
  # A hypothetical region name longer than any today: the precondition, not AWS, must refuse it.
  override_data {
    target = data.aws_region.current
    values = {
      name   = "xx-hypothetical-west-1"
      region = "xx-hypothetical-west-1"
    }
  }

  expect_failures = [aws_iam_role.this]
}
