Feature: Notifications and queued work are encrypted at rest
  The topic carries findings and the queues carry repository names: both are encrypted, the topic with a KMS key
  (customer-managed, or the AWS-managed alias/aws/sns), each queue with a KMS key or SQS-managed encryption.
  A key the plan cannot show (created in the same plan) fails the check: plan once the key exists.

  Scenario: SNS topics are encrypted with a KMS key
    Given I have aws_sns_topic defined
    Then it must contain kms_master_key_id
    And its value must match the "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[0-9a-f]{8}-[0-9a-f-]{27}|mrk-[0-9a-f]{32})$" regex

  Scenario: Every SQS queue shows its key setting in the plan
    Given I have aws_sqs_queue defined
    Then it must contain kms_master_key_id

  Scenario: SQS queues encrypted with a KMS key name a valid key
    Given I have aws_sqs_queue defined
    When its kms_master_key_id is "(arn:|alias/|mrk-|[0-9a-f]+-)" regex
    Then it must contain kms_master_key_id
    And its value must match the "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[0-9a-f]{8}-[0-9a-f-]{27}|mrk-[0-9a-f]{32})$" regex

  Scenario: SQS queues without a KMS key use SQS-managed server-side encryption
    Given I have aws_sqs_queue defined
    When its kms_master_key_id is not "(arn:|alias/|mrk-|[0-9a-f]+-)" regex
    Then it must contain sqs_managed_sse_enabled
    And its value must be true
