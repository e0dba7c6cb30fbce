"""Help calls after intake: dispatch, offers, the caregiver's steps, alarms."""
