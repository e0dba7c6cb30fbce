"""Capability assessment (老年人能力评估, GB/T 42195-2022): scales as data, assessments item by
item, the elder's capability and care level with history, service-plan suggestions and
re-assessment."""
