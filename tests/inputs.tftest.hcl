# Inputs users expect (issue 16), asserted offline: `terraform test -filter=tests/inputs.tftest.hcl`.
# lambda_memory_size (per function), subscriptions (with SNS filter policies) and chat_topic_arn (an existing chat
# topic): each wired where it belongs, each bad value refused at plan time, each edge value accepted.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  created_topic = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications" # the mock's topic ARN
  given_topic   = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
  chat_topic    = "arn:aws:sns:eu-west-1:123456789012:security-chat"
}

# --- lambda_memory_size --------------------------------------------------------------------------------------------

run "memory_defaults" {
  command = plan

  assert {
    condition = { for key, function in aws_lambda_function.this : key => function.memory_size } == {
      repositories = 256
      images       = 256
      findings     = 256
      report       = 512
    }
    error_message = "Without lambda_memory_size the functions keep the module's sizes (256, the report 512)."
  }
}

run "memory_per_function_at_the_edges" {
  command = plan

  variables {
    lambda_memory_size = {
      images   = 128   # Lambda's minimum
      report   = 10240 # Lambda's maximum
      findings = null  # the module's size
    }
  }

  assert {
    condition = { for key, function in aws_lambda_function.this : key => function.memory_size } == {
      repositories = 256
      images       = 128
      findings     = 256
      report       = 10240
    }
    error_message = "lambda_memory_size sets the functions it names; one left out or null keeps the module's size."
  }
}

run "bad_memory_key" {
  command = plan
  variables {
    lambda_memory_size = { reports = 1024 } # misspelt: would silently keep 512 if accepted
  }
  expect_failures = [var.lambda_memory_size]
}

run "bad_memory_below_lambda_minimum" {
  command = plan
  variables {
    lambda_memory_size = { images = 127 }
  }
  expect_failures = [var.lambda_memory_size]
}

run "bad_memory_above_lambda_maximum" {
  command = plan
  variables {
    lambda_memory_size = { report = 10241 }
  }
  expect_failures = [var.lambda_memory_size]
}

run "bad_memory_fraction" {
  command = plan
  variables {
    lambda_memory_size = { findings = 256.5 }
  }
  expect_failures = [var.lambda_memory_size]
}

# --- subscriptions -------------------------------------------------------------------------------------------------

run "no_subscriptions_by_default" {
  command = plan

  assert {
    condition     = length(aws_sns_topic_subscription.this) == 0
    error_message = "No subscriptions unless asked for."
  }
}

# The README recipe: a team receives its own repositories' alerts, filtered on the message attributes.
run "a_team_subscribes_to_its_repositories" {
  command = apply # the created topic's ARN is computed (by the mocked provider)

  variables {
    subscriptions = {
      payments_oncall = {
        protocol = "email"
        endpoint = "payments-oncall@example.com"
        filter_policy = jsonencode({
          repository = [{ prefix = "payments/" }]
          event_type = ["threshold_breached", "reminder", "scan_failed"]
        })
      }
      payments_queue = {
        protocol             = "sqs"
        endpoint             = "arn:aws:sqs:eu-west-1:123456789012:payments-scan-alerts"
        raw_message_delivery = true # a bool, converted to "true"
        filter_policy        = jsonencode({ repository = [{ prefix = "payments/" }] })
        filter_policy_scope  = "MessageAttributes"
      }
      audit = {
        protocol = "https"
        endpoint = "https://audit.example.com/sns"
      }
    }
  }

  assert {
    condition     = toset(keys(aws_sns_topic_subscription.this)) == toset(["payments_oncall", "payments_queue", "audit"])
    error_message = "One subscription per entry, keyed by the caller's name."
  }
  assert {
    condition     = alltrue([for s in aws_sns_topic_subscription.this : s.topic_arn == var.created_topic])
    error_message = "The subscriptions attach to the module's notification topic."
  }
  assert {
    condition = (
      aws_sns_topic_subscription.this["payments_oncall"].protocol == "email" &&
      aws_sns_topic_subscription.this["payments_oncall"].endpoint == "payments-oncall@example.com" &&
      jsondecode(aws_sns_topic_subscription.this["payments_oncall"].filter_policy) == {
        repository = [{ prefix = "payments/" }]
        event_type = ["threshold_breached", "reminder", "scan_failed"]
      }
    )
    error_message = "The email subscription carries its filter policy."
  }
  assert {
    condition = (
      aws_sns_topic_subscription.this["payments_queue"].raw_message_delivery == true &&
      aws_sns_topic_subscription.this["payments_queue"].filter_policy_scope == "MessageAttributes" &&
      jsondecode(aws_sns_topic_subscription.this["payments_queue"].filter_policy) == { repository = [{ prefix = "payments/" }] }
    )
    error_message = "The queue subscription carries its raw delivery, filter policy and scope."
  }
  assert {
    condition = (
      aws_sns_topic_subscription.this["audit"].raw_message_delivery == false &&
      aws_sns_topic_subscription.this["audit"].filter_policy == null &&
      aws_sns_topic_subscription.this["audit"].subscription_role_arn == null
    )
    error_message = "A subscription without options gets SNS's defaults: every message, wrapped in the SNS envelope."
  }
}

run "subscriptions_attach_to_a_given_topic" {
  command = plan

  variables {
    create_sns_topic = false
    sns_topic_arn    = var.given_topic
    subscriptions = {
      firehose = {
        protocol              = "firehose"
        endpoint              = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/scan-archive"
        subscription_role_arn = "arn:aws:iam::123456789012:role/sns-to-firehose"
        raw_message_delivery  = "true"
        filter_policy         = jsonencode({ detail = { severity_counts = { CRITICAL = [{ numeric = [">", 0] }] } } })
        filter_policy_scope   = "MessageBody" # nested keys: the body's JSON document
      }
    }
  }

  assert {
    condition     = aws_sns_topic_subscription.this["firehose"].topic_arn == var.given_topic && length(aws_sns_topic.this) == 0
    error_message = "With sns_topic_arn the subscriptions attach to the given topic (like email_subscriptions)."
  }
  assert {
    condition = (
      aws_sns_topic_subscription.this["firehose"].subscription_role_arn == "arn:aws:iam::123456789012:role/sns-to-firehose" &&
      aws_sns_topic_subscription.this["firehose"].filter_policy_scope == "MessageBody"
    )
    error_message = "A firehose subscription carries its role; a body policy its scope."
  }
}

# Every protocol with an endpoint of its form, and the limits SNS sets: accepted.
run "every_protocol_at_the_edges" {
  command = plan

  variables {
    subscriptions = {
      http        = { protocol = "http", endpoint = "http://hooks.internal.example.com/ecr" }
      https       = { protocol = "https", endpoint = "https://hooks.example.com/ecr?team=payments", raw_message_delivery = "false" }
      email       = { protocol = "email", endpoint = "security@example.com" }
      email_json  = { protocol = "email-json", endpoint = "robot+ecr@example.co.uk" }
      sms         = { protocol = "sms", endpoint = "+14155550100" }
      sqs_fifo    = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:alerts.fifo" }
      application = { protocol = "application", endpoint = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/app/0123abcd-0123-4567-89ab-0123456789ab" }
      lambda      = { protocol = "lambda", endpoint = "arn:aws:lambda:eu-west-1:123456789012:function:ticketer:live" }
      five_keys = {
        protocol      = "lambda"
        endpoint      = "arn:aws:lambda:eu-west-1:123456789012:function:ticketer"
        filter_policy = jsonencode({ repository = ["a"], event_type = ["reminder"], highest_severity = ["CRITICAL"], k4 = [{ exists = true }], k5 = ["x"] })
      }
    }
  }

  assert {
    condition     = length(aws_sns_topic_subscription.this) == 9
    error_message = "Every protocol SNS offers is accepted with an endpoint of its form."
  }
}

# An endpoint created in the same configuration is unknown at plan time: the plan still succeeds (for_each is keyed
# by the caller's names) and the endpoint's validation waits for apply.
run "an_endpoint_unknown_at_plan_time" {
  command = plan

  module {
    source = "./tests/fixtures/unknown_endpoint"
  }
}

run "a_fifo_topic_delivers_to_queues_only" {
  command = plan
  variables {
    create_sns_topic = false
    sns_topic_arn    = "arn:aws:sns:eu-west-1:123456789012:alerts.fifo"
    subscriptions    = { oncall = { protocol = "email", endpoint = "oncall@example.com" } }
  }
  expect_failures = [aws_sns_topic_subscription.this["oncall"]]
}

run "a_fifo_topic_accepts_queues" {
  command = plan
  variables {
    create_sns_topic = false
    sns_topic_arn    = "arn:aws:sns:eu-west-1:123456789012:alerts.fifo"
    subscriptions    = { archive = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:archive.fifo" } }
  }
  assert {
    condition     = aws_sns_topic_subscription.this["archive"].topic_arn == "arn:aws:sns:eu-west-1:123456789012:alerts.fifo"
    error_message = "A FIFO topic takes sqs subscriptions."
  }
}

# Bad values: each run breaks one rule of var.subscriptions.

run "bad_subscription_misspelt_key" {
  command = plan
  variables {
    subscriptions = {
      payments = {
        protocol     = "email"
        endpoint     = "payments@example.com"
        filter_polcy = jsonencode({ repository = [{ prefix = "payments/" }] }) # would subscribe to everything if dropped
      }
    }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_protocol" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "smtp", endpoint = "payments@example.com" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_protocol_case" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "SQS", endpoint = "arn:aws:sqs:eu-west-1:123456789012:q" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_no_protocol" {
  command = plan
  variables {
    subscriptions = { a = { endpoint = "payments@example.com" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_empty_endpoint" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "https", endpoint = " " } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_no_endpoint" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "https" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_endpoint_of_another_protocol" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "sqs", endpoint = "https://hooks.example.com/ecr" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_http_endpoint_for_https" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "https", endpoint = "http://hooks.example.com/ecr" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_sms_not_e164" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "sms", endpoint = "415-555-0100" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_lambda_endpoint_is_a_role" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "lambda", endpoint = "arn:aws:iam::123456789012:role/ticketer" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_filter_policy_not_json" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "email", endpoint = "a@example.com", filter_policy = "repository = payments/" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_filter_policy_an_array" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "email", endpoint = "a@example.com", filter_policy = "[\"payments/\"]" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_filter_policy_empty_object" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "email", endpoint = "a@example.com", filter_policy = "{}" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_filter_policy_six_keys" {
  command = plan
  variables {
    subscriptions = {
      a = {
        protocol      = "email"
        endpoint      = "a@example.com"
        filter_policy = jsonencode({ k1 = ["a"], k2 = ["a"], k3 = ["a"], k4 = ["a"], k5 = ["a"], k6 = ["a"] })
      }
    }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_nested_attribute_policy" {
  command = plan
  variables {
    subscriptions = {
      a = {
        protocol      = "email"
        endpoint      = "a@example.com"
        filter_policy = jsonencode({ detail = { repository = ["payments/app"] } }) # nested: MessageBody only
      }
    }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_scope" {
  command = plan
  variables {
    subscriptions = {
      a = { protocol = "email", endpoint = "a@example.com", filter_policy = jsonencode({ event_type = ["reminder"] }), filter_policy_scope = "Body" }
    }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_scope_without_policy" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "email", endpoint = "a@example.com", filter_policy_scope = "MessageAttributes" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_raw_delivery_by_email" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "email", endpoint = "a@example.com", raw_message_delivery = "true" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_raw_delivery_not_a_bool" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:q", raw_message_delivery = "yes" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_firehose_without_role" {
  command = plan
  variables {
    subscriptions = { a = { protocol = "firehose", endpoint = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/s" } }
  }
  expect_failures = [var.subscriptions]
}

run "bad_subscription_role_for_a_queue" {
  command = plan
  variables {
    subscriptions = {
      a = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:q", subscription_role_arn = "arn:aws:iam::123456789012:role/r" }
    }
  }
  expect_failures = [var.subscriptions]
}

# --- chat_topic_arn ------------------------------------------------------------------------------------------------

run "a_given_chat_topic" {
  command = plan

  variables {
    chat_topic_arn = var.chat_topic
  }

  assert {
    condition     = length(aws_sns_topic.chat) == 0 && output.chat_topic_arn == var.chat_topic
    error_message = "With chat_topic_arn the module creates no chat topic and outputs the given one."
  }
  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.CHAT_TOPIC_ARN == var.chat_topic
    error_message = "The findings function posts the chat form to the given topic."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s.Resource if s.Sid == "NotifyChat"
    ] == [[var.chat_topic]]
    error_message = "The findings function may publish to the given chat topic, and to no other chat topic."
  }
  assert {
    condition     = alltrue([for key in ["repositories", "images", "report"] : !strcontains(aws_iam_role_policy.this[key].policy, "security-chat")])
    error_message = "Only the findings function may publish to the chat topic."
  }
}

run "a_created_chat_topic" {
  command = plan

  variables {
    create_chat_topic = true
  }

  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.CHAT_TOPIC_ARN == "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-chat" &&
      [for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement : s.Resource if s.Sid == "NotifyChat"] == [["arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-chat"]]
    )
    error_message = "The created chat topic is the one the function posts to and may publish to."
  }
}

run "a_given_chat_topic_with_create_false" {
  command = plan

  variables {
    create         = false
    chat_topic_arn = var.chat_topic
  }

  assert {
    condition     = output.chat_topic_arn == null && length(aws_lambda_function.this) == 0
    error_message = "create = false: no function, and the chat_topic_arn output is null like every output."
  }
}

# A chat topic created in the same configuration (unknown ARN at plan time): counts stay driven by create_chat_topic.
run "a_chat_topic_unknown_at_plan_time" {
  command = apply

  module {
    source = "./tests/fixtures/unknown_endpoint"
  }

  override_resource {
    target = aws_sns_topic.chat # the fixture's own topic (the mock's default ARN is the notification topic's)
    values = { arn = "arn:aws:sns:eu-west-1:123456789012:security-chat" }
  }

  assert {
    condition     = output.chat_topic_arn == "arn:aws:sns:eu-west-1:123456789012:security-chat"
    error_message = "The given chat topic's ARN, known at apply, is the module's chat_topic_arn output."
  }
}

run "chat_topic_both_created_and_given" {
  command = plan
  variables {
    create_chat_topic = true
    chat_topic_arn    = var.chat_topic
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "chat_topic_in_another_region" {
  command = plan
  variables {
    chat_topic_arn = "arn:aws:sns:us-east-1:123456789012:security-chat"
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "chat_topic_in_another_account" {
  command = plan
  variables {
    chat_topic_arn = "arn:aws:sns:eu-west-1:210987654321:security-chat"
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "chat_topic_in_another_partition" {
  command = plan
  variables {
    chat_topic_arn = "arn:aws-cn:sns:eu-west-1:123456789012:security-chat"
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "chat_topic_is_the_notification_topic" {
  command = plan
  variables {
    create_sns_topic = false
    sns_topic_arn    = var.given_topic
    chat_topic_arn   = var.given_topic
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "chat_topic_is_the_created_notification_topic" {
  command = plan
  variables {
    chat_topic_arn = var.created_topic
  }
  expect_failures = [aws_lambda_function.this["findings"]]
}

run "bad_chat_topic_fifo" {
  command = plan
  variables {
    chat_topic_arn = "arn:aws:sns:eu-west-1:123456789012:security-chat.fifo"
  }
  expect_failures = [var.chat_topic_arn]
}

run "bad_chat_topic_not_a_topic" {
  command = plan
  variables {
    chat_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:security-chat"
  }
  expect_failures = [var.chat_topic_arn]
}
