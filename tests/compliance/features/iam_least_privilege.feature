Feature: The module's IAM policies grant named actions only
  Judges only the ecr-scan-reporter module's role policies in your plan, recognised by their address
  (module.<name>.aws_iam_role_policy.this["<function>"], every function: repositories, images, findings,
  report, and any the module adds) and their name,
  least-privilege: role policies cannot carry tags. Your own policies are not judged here.
  No policy allows a wildcard action ("*", "sqs:*", "ecr:Describe*"): each permission is spelled out.
  A policy the plan cannot show fails the check: the module builds its policies from names, so the only
  unknown part can be a key created in the same plan: your kms_key_arn, or, with an organization hub
  (modules/hub) planned in the same root as its spokes, the hub's key (hub_kms_key_arn; the hub's topics are
  named, hence known). Create the key first (terraform apply -target=<the key's address>, the hub's:
  -target=module.<hub>.aws_kms_key.this), then plan again and gate that plan; or keep the hub in a configuration
  of its own (examples/organization), whose outputs the spokes read as known values.

  Scenario Outline: The module's role policies allow no wildcard action
    Given I have aws_iam_role_policy defined
    When its address metadata has "^module\..*\.aws_iam_role_policy\.this\[\"[a-z_]+\"\]$" regex
    When its name is "least-privilege"
    Then it must contain policy
    And it must contain Statement
    And it must contain Action
    And its value must not match the ".*\*" regex

    Examples:
      | policy                                  | if this fails: "does not have policy property" |
      | the functions' least-privilege policies | a key this plan creates (kms_key_arn, or an organization hub's key, hub_kms_key_arn, when the hub is in the same root) makes the policy unknown: terraform apply -target=<the key's address> first, then plan again (the hub's key: -target=module.<hub>.aws_kms_key.this; or plan the hub in a configuration of its own, examples/organization) |
