Feature: The module's work that keeps failing is kept in a dead-letter queue
  Judges only the ecr-scan-reporter module's resources in your plan: those tagged terraform-module =
  ecr-scan-reporter (the module tags everything it creates); your own queues are not judged here.
  A message the consumer cannot process is moved to a dead-letter queue after a few receives, never retried
  forever nor dropped. Dead-letter and terminal queues are recognised by their name (dlq, dead-letter,
  deadletter or failed-events as a name component) and are exempt, so every queue's name must be known.

  Scenario: The name of each of the module's SQS queues is known when planning
    Given I have aws_sqs_queue defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    Then it must contain name

  Scenario: Each other queue of the module redrives to a dead-letter queue
    Given I have aws_sqs_queue defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    When its name is not "^(.*[-_.])?(dlq|dead-?letter|failed-events)([-_.].*)?$" regex
    Then it must contain redrive_policy
    And it must contain deadLetterTargetArn
    And its value must match the "^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:.+$" regex
