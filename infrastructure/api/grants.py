"""What a credential may do beyond its own visitor, named once for the authentication (which
remembers it with a token) and the access checks (which read it)."""

# The permission to read and write any visitor's data through the API.
ACT_FOR_VISITORS = "tracking.act_for_visitors"
# The attribute of an authenticated token holding whether its user has that permission.
ACTS_FOR_VISITORS_ATTRIBUTE = "acts_for_visitors"
