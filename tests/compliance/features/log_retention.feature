Feature: Logs expire
  Every CloudWatch log group keeps its events for a set number of days (never "never expire").

  Scenario: Every log group has a retention period
    Given I have aws_cloudwatch_log_group defined
    Then it must contain retention_in_days
    And its value must be greater than 0
