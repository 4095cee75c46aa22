Feature: IAM policies grant named actions only
  No identity policy allows a wildcard action ("*", "sqs:*", "ecr:Describe*"): each permission is spelled out.
  A policy the plan cannot show fails the check.

  Scenario Outline: No <policy_type> allows a wildcard action
    Given I have <policy_type> defined
    Then it must contain policy
    And it must contain Statement
    And it must contain Action
    And its value must not match the ".*\*" regex

    Examples:
      | policy_type          |
      | aws_iam_role_policy  |
      | aws_iam_policy       |
      | aws_iam_user_policy  |
      | aws_iam_group_policy |
