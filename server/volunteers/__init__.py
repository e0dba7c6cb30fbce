"""Volunteers and neighbours (志愿者/邻里互助) with the time bank (时间银行)."""
