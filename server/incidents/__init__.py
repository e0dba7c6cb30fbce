"""Help calls: intake (the incident's constructor), dispatch, offers, the caregiver's steps, alarms."""
