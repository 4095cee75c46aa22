Feature: The module's tag reaches AWS
  Judges only the ecr-scan-reporter module's resources in your plan: those whose own tags carry
  terraform-module = ecr-scan-reporter (the module tags everything it creates); your own resources are not
  judged here. The tag must also be in tags_all, what AWS receives (the resource's tags and the provider's
  default_tags), and known when planning, so the resources' owner can be found in AWS and this gate finds them.

  Scenario: Each taggable resource of the module sends its tag to AWS
    Given I have resource that supports tags_all defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    Then it must contain tags_all
    And it must contain terraform-module
    And its value must be ecr-scan-reporter
