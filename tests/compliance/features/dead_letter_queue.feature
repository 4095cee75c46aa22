Feature: Work that keeps failing is kept in a dead-letter queue
  A message the consumer cannot process is moved to a dead-letter queue after a few receives, never retried
  forever nor dropped. Dead-letter and terminal queues are recognised by their name (dlq, dead-letter,
  deadletter or failed-events as a name component) and are exempt, so every queue's name must be known.

  Scenario: Every SQS queue's name is known when planning
    Given I have aws_sqs_queue defined
    Then it must contain name

  Scenario: Every other SQS queue redrives to a dead-letter queue
    Given I have aws_sqs_queue defined
    When its name is not "^(.*[-_.])?(dlq|dead-?letter|failed-events)([-_.].*)?$" regex
    Then it must contain redrive_policy
    And it must contain deadLetterTargetArn
    And its value must match the "^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:.+$" regex
