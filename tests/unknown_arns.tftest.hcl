# A platform team's first plan: the KMS key, the notification topic and the alarm topic are created in the same
# root as the module (tests/roots/same_root), so their ARNs are unknown when planning. Every count and for_each of
# the module must still be plannable (no "Invalid count argument"), and the ARN checks must not block the plan.
#
# The provider is the real hashicorp/aws, not the mock every other file uses: the mock gives computed attributes
# (the ARNs) values at plan time, which would hide the failure. It is configured offline (fake credentials, no
# account lookup, no metadata API): planning the creation of resources calls no AWS API; the one data source
# that would (aws_caller_identity) is overridden below.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = module.reporter.data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
    user_id    = "AIDATEST"
  }
}

run "key_topic_and_alarm_topic_created_in_the_same_root" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }

  assert {
    condition     = module.reporter.topic_kms_key_arn == null
    error_message = "With kms_key_arn (create_topic_kms_key = false) and a topic of its own, the module creates no topic key."
  }
  assert {
    condition     = length(module.reporter.alarm_arns) == 9 && length(module.reporter.function_names) == 4
    error_message = "The four functions and their nine alarms (the scan budget's, and the undecided owners' of the root's teams, included) must be planned."
  }
}

run "key_created_in_the_same_root_module_creates_the_topic" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }
  variables {
    give_sns_topic   = false
    give_alarm_topic = false
  }

  assert {
    condition     = module.reporter.topic_kms_key_arn == null && length(module.reporter.alarm_arns) == 9
    error_message = "The module's topic is encrypted with kms_key_arn: no topic key of the module's; the alarms notify that topic."
  }
}

run "alarm_topic_created_in_the_same_root" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }
  variables {
    give_kms_key   = false
    give_sns_topic = false
  }

  assert {
    condition     = module.reporter.topic_kms_key_arn == null
    error_message = "The alarms notify their own topic: the module's topic needs no key for CloudWatch (alias/aws/sns)."
  }
}

run "topic_created_in_the_same_root_module_alarms_notify_it" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }
  variables {
    give_kms_key     = false
    give_alarm_topic = false
  }

  assert {
    condition     = module.reporter.topic_kms_key_arn == null && length(module.reporter.alarm_arns) == 9
    error_message = "With sns_topic_arn the module creates no topic and no topic key; the alarms notify the given topic."
  }
}

# A team's sns_topic_arn created in the same root: whether the module creates the team's topic is decided by the
# key's presence, never by the ARN, so the topics, subscriptions and the teams item are planned; the checks of the
# unknown ARN (its account and region) wait for apply.
run "team_topic_created_in_the_same_root" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }

  assert {
    condition     = keys(module.reporter.team_topic_arns) == ["payments", "tools"] && module.reporter.team_topic_arns["tools"] == "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-tools"
    error_message = "Both teams are planned; the created topic's ARN is known at plan time."
  }
  assert {
    condition     = keys(module.reporter.team_chat_topic_arns) == ["payments"] && length(module.reporter.team_chat_topic_arns) == 1
    error_message = "A chat_topic_arn created in the same root is planned: the team's chat topic is named, none is created."
  }
}

# A spoke of a hub created in the same root (examples/organization): the hub's key (hub_kms_key_arn) and its topic
# (sns_topic_arn) are unknown when planning. Which roles get the key, and whether the topic is the hub's, are policy
# contents and preconditions, never a count: the plan goes through, and the checks wait for apply.
run "hub_key_and_topic_created_in_the_same_root" {
  command = plan
  module {
    source = "./tests/roots/same_root"
  }
  variables {
    give_sns_topic = false
    give_hub       = true
  }

  assert {
    condition     = length(module.reporter.function_names) == 4 && length(module.reporter.alarm_arns) == 10
    error_message = "The four functions and their alarms, the hub report's included, must be planned."
  }
}
