"""A/B tests of recommender configurations on live traffic: assignment (`assignment`),
starting and stopping (`services`) and results (`results`)."""
