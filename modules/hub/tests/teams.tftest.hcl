# The organization's teams on the hub (teams.tf), read from the plan (mocked provider): one topic per team under the
# hub's key, which the spokes may publish to as to the central topic, the team's subscriptions once, its chat
# topic, the spoke_teams output every spoke takes as its teams, the organization report's team environment and
# grant; and bad team values refused at plan time.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  organization_id    = "o-a1b2c3d4e5"
  spoke_regions      = ["eu-west-1", "us-east-1"]
  report_bucket_name = "acme-security-ecr-reports"
  teams = [
    {
      name                = "payments"
      repository_regex    = "^payments/"
      severity_thresholds = { critical = 0, high = 0 }
      renotify_after_days = null # never remind: kept as null for the spokes
      email_subscriptions = ["payments-oncall@example.com"]
      subscriptions = {
        queue = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:210987654321:payments-alerts", raw_message_delivery = "true" }
        pager = { protocol = "https", endpoint = "https://pager.example.com/hook", filter_policy = jsonencode({ event_type = ["threshold_breached"] }) }
        bot   = { protocol = "lambda", endpoint = "arn:aws:lambda:eu-west-1:210987654321:function:payments-bot" }
        audit = { protocol = "email-json", endpoint = "payments-audit@example.com" }
      }
      create_chat_topic    = true
      alert_on_exploitable = true
    },
    { name = "tools", repository_regex = "^(internal|tools)/", notify_on = "every_scan" },
  ]
  payments_topic = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments"
  payments_chat  = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat"
  tools_topic    = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-tools"
}

run "teams" {
  command = plan

  # --- one topic per team, under the hub's key, which the spokes may publish to ---------------------------------
  assert {
    condition = (
      keys(aws_sns_topic.team) == ["payments", "tools"] &&
      aws_sns_topic.team["payments"].name == "ecr-scan-hub-payments" && aws_sns_topic.team["tools"].name == "ecr-scan-hub-tools" &&
      alltrue([for topic in aws_sns_topic.team : topic.kms_master_key_id == "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"])
    )
    error_message = "The hub creates one topic per team, <name_prefix>-<team>, encrypted with the hub's key."
  }
  assert {
    condition = jsondecode(aws_sns_topic_policy.team["payments"].policy).Statement == [
      {
        Sid = "SpokesPublish", Effect = "Allow", Principal = { AWS = "*" }, Action = "sns:Publish", Resource = var.payments_topic
        # The central topic's own condition, whatever it is: one rule for every hub topic.
        Condition = one([for s in jsondecode(aws_sns_topic_policy.this.policy).Statement : s.Condition if s.Sid == "SpokesPublish"])
      },
      {
        Sid       = "DenyInsecureTransport", Effect = "Deny", Principal = "*", Action = "sns:Publish", Resource = var.payments_topic
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
    error_message = "A team's topic lets the spokes publish exactly as the central topic does, and denies publishing without TLS."
  }
  assert {
    # Every Allow of every team topic and team chat topic is the spokes' (today aws:PrincipalOrgID of the organization).
    condition = alltrue(flatten([
      for policy in concat(values(aws_sns_topic_policy.team), values(aws_sns_topic_policy.team_chat)) : [
        for s in jsondecode(policy.policy).Statement :
        s.Sid == "SpokesPublish" && s.Condition == one([for c in jsondecode(aws_sns_topic_policy.this.policy).Statement : c.Condition if c.Sid == "SpokesPublish"]) && s.Condition.StringEquals["aws:PrincipalOrgID"] == ["o-a1b2c3d4e5"]
        if s.Effect == "Allow"
      ]
    ]))
    error_message = "No principal outside the spokes may publish to a team's topic or chat topic."
  }

  # --- the team's subscriptions: once, on its one topic --------------------------------------------------------
  assert {
    condition = (
      keys(aws_sns_topic_subscription.team_email) == ["payments/payments-oncall@example.com"] &&
      aws_sns_topic_subscription.team_email["payments/payments-oncall@example.com"].protocol == "email" &&
      keys(aws_sns_topic_subscription.team) == ["payments/audit", "payments/bot", "payments/pager", "payments/queue"]
    )
    error_message = "The team's e-mail and other subscriptions are keyed <team>/<email> and <team>/<name>, one each."
  }
  assert {
    condition = (
      [for key in ["queue", "pager", "bot", "audit"] : [aws_sns_topic_subscription.team["payments/${key}"].protocol, aws_sns_topic_subscription.team["payments/${key}"].endpoint]] == [
        ["sqs", "arn:aws:sqs:eu-west-1:210987654321:payments-alerts"],
        ["https", "https://pager.example.com/hook"],
        ["lambda", "arn:aws:lambda:eu-west-1:210987654321:function:payments-bot"],
        ["email-json", "payments-audit@example.com"],
      ] &&
      aws_sns_topic_subscription.team["payments/queue"].raw_message_delivery &&
      !aws_sns_topic_subscription.team["payments/pager"].raw_message_delivery &&
      jsondecode(aws_sns_topic_subscription.team["payments/pager"].filter_policy) == { event_type = ["threshold_breached"] }
    )
    error_message = "Each subscription takes the team's endpoint, protocol, raw delivery and filter policy."
  }

  # --- the chat topic ------------------------------------------------------------------------------------------
  assert {
    condition = (
      keys(aws_sns_topic.team_chat) == ["payments"] && aws_sns_topic.team_chat["payments"].name == "ecr-scan-hub-payments-chat" &&
      aws_sns_topic.team_chat["payments"].kms_master_key_id == "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555" &&
      [for s in jsondecode(aws_sns_topic_policy.team_chat["payments"].policy).Statement : [s.Sid, s.Resource]] == [["SpokesPublish", var.payments_chat], ["DenyInsecureTransport", var.payments_chat]]
    )
    error_message = "A team with create_chat_topic gets <name_prefix>-<team>-chat, under the hub's key, which the spokes may publish to."
  }
  assert {
    condition     = output.team_topic_arns == { payments = var.payments_topic, tools = var.tools_topic } && output.team_chat_topic_arns == { payments = var.payments_chat }
    error_message = "The hub outputs its team topics and team chat topics (one chat configuration per team, here)."
  }

  # --- spoke_teams: every spoke's teams ------------------------------------------------------------------------
  assert {
    condition = jsonencode(output.spoke_teams) == jsonencode([
      {
        alert_on_exploitable = true
        chat_topic_arn       = var.payments_chat
        name                 = "payments"
        renotify_after_days  = null
        repository_regex     = "^payments/"
        severity_thresholds  = { critical = 0, high = 0 }
        sns_topic_arn        = var.payments_topic
      },
      {
        name             = "tools"
        notify_on        = "every_scan"
        repository_regex = "^(internal|tools)/"
        sns_topic_arn    = var.tools_topic
      },
    ])
    error_message = "spoke_teams: each team's settings as given (renotify_after_days = null kept), its hub topic and chat topic, and none of the hub's subscriptions."
  }

  # --- the organization report: each team's own report on its topic -------------------------------------------
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.TEAM_NAMES == "payments,tools" &&
      aws_lambda_function.this.environment[0].variables.TEAM_TOPIC_ARN_PREFIX == "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-" &&
      "${aws_lambda_function.this.environment[0].variables.TEAM_TOPIC_ARN_PREFIX}tools" == var.tools_topic
    )
    error_message = "The organization report function gets the team names and the prefix that makes each one's topic ARN."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [s.Action, s.Resource] if s.Sid == "PublishTeamReports"]) == [["sns:Publish"], [var.payments_topic, var.tools_topic]]
    error_message = "The organization report function may publish to exactly the teams' topics."
  }
}

run "no_teams" {
  command = plan
  variables {
    teams = []
  }
  assert {
    condition = (
      length(aws_sns_topic.team) == 0 && length(aws_sns_topic.team_chat) == 0 && length(aws_sns_topic_subscription.team) == 0 &&
      length(aws_sns_topic_subscription.team_email) == 0 && output.spoke_teams == [] && output.team_topic_arns == {} &&
      length(module.team_rules) == 0
    )
    error_message = "Without teams the hub creates no team topic or subscription."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.TEAM_NAMES == "" && aws_lambda_function.this.environment[0].variables.TEAM_TOPIC_ARN_PREFIX == "" &&
      length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "PublishTeamReports"]) == 0
    )
    error_message = "Without teams the organization report function has no team to publish to."
  }
}

# --- bad values: the hub's own rules (the others are the root module's: tests/terraform/test_hub_team_rules.py; the
# environment's 4 KB: policies.tftest.hcl) -------------------------------------------------------------------------

run "bad_teams_not_a_list" {
  command = plan
  variables {
    teams = { payments = { name = "payments" } }
  }
  expect_failures = [var.teams]
}

run "bad_team_with_a_topic_of_its_own" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", sns_topic_arn = "arn:aws:sns:eu-west-1:210987654321:payments" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_with_a_chat_topic_of_its_own" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", chat_topic_arn = "arn:aws:sns:eu-west-1:210987654321:payments-chat" }]
  }
  expect_failures = [var.teams]
}

# An organization's first plan: the team's channel (an SQS queue) is created in the same root, its ARN unknown
# until applied. The teams' topics, chat topics, subscriptions and spoke_teams are planned all the same.
run "team_channel_created_in_the_same_root" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }

  assert {
    condition = (
      keys(module.hub.team_topic_arns) == ["payments", "tools"] && keys(module.hub.team_chat_topic_arns) == ["payments"] &&
      [for team in module.hub.spoke_teams : team.sns_topic_arn] == [var.payments_topic, var.tools_topic]
    )
    error_message = "The teams' topics and spoke_teams are known at plan time whatever their subscriptions' endpoints."
  }
}
