Feature: The module's notifications and queued work are encrypted at rest
  Judges only the ecr-scan-reporter module's resources in your plan: those tagged terraform-module =
  ecr-scan-reporter (the module tags everything it creates); your own resources are not judged here.
  The topic carries findings and the queues carry repository names: both are encrypted, the topic with a KMS key
  (customer-managed, or the AWS-managed alias/aws/sns), each queue with a KMS key or SQS-managed encryption.
  A key created in the same plan (the module's own topic key, or a kms_key_arn your configuration creates) has no
  ARN yet: terraform-compliance shows its address (aws_kms_key.<name>), which counts as a KMS key here. A key the
  plan cannot show at all fails the check: create it first (terraform apply -target=<the key's address>), then
  plan again and gate that plan.

  Scenario Outline: The module's <resource> shows its key in the plan
    Given I have <resource> defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    Then it must contain kms_master_key_id
    And its value must not match the "^(?!(module\..+\.)?aws_kms_key\.)[^:/]*\.[^:/]*$" regex

    Examples:
      | resource      | if this fails                                                                                          |
      | aws_sns_topic | the key is not in the plan: terraform apply -target=<the key's address> first, then plan again |
      | aws_sqs_queue | the key is not in the plan: terraform apply -target=<the key's address> first, then plan again |

  Scenario: The module's SNS topic is encrypted with a KMS key
    Given I have aws_sns_topic defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    When its kms_master_key_id is not "^(?!(module\..+\.)?aws_kms_key\.)[^:/]*\.[^:/]*$" regex
    Then it must contain kms_master_key_id
    And its value must match the "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[0-9a-f]{8}-[0-9a-f-]{27}|mrk-[0-9a-f]{32}|(module\..+\.)?aws_kms_key\.[^.:/]+)$" regex

  Scenario: The module's SQS queues encrypted with a KMS key name a valid key
    Given I have aws_sqs_queue defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    When its kms_master_key_id is "(arn:|alias/|mrk-|[0-9a-f]+-|aws_kms_key\.)" regex
    Then it must contain kms_master_key_id
    And its value must match the "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[0-9a-f]{8}-[0-9a-f-]{27}|mrk-[0-9a-f]{32}|(module\..+\.)?aws_kms_key\.[^.:/]+)$" regex

  Scenario: The module's SQS queues without a KMS key use SQS-managed server-side encryption
    Given I have aws_sqs_queue defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    When its kms_master_key_id is not "^(?!(module\..+\.)?aws_kms_key\.)[^:/]*\.[^:/]*$" regex
    When its kms_master_key_id is not "(arn:|alias/|mrk-|[0-9a-f]+-|aws_kms_key\.)" regex
    Then it must contain sqs_managed_sse_enabled
    And its value must be true
