Feature: Resources are tagged
  Every resource that can carry tags carries at least one (from its own tags or the provider's default_tags), so
  its owner and purpose can be found.

  Scenario: Every taggable resource has tags
    Given I have resource that supports tags_all defined
    Then it must contain tags_all
    And its value must not be null
