from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from yiyin.templates.fields import USCC, DocumentData, LongText, Text, check_period


class DecisionGrant(DocumentData):
    applicant: Text = Field(title="申请人")
    applicant_code: USCC = Field(title="申请人统一社会信用代码")
    application_date: date = Field(title="申请日期")
    acceptance_number: Text = Field(title="受理编号")
    item_name: Text = Field(title="审批事项")
    legal_basis: list[Text] = Field(title="法律依据", min_length=1, max_length=10)
    decision_content: LongText = Field(title="准予许可内容")
    licence_name: Text | None = Field(default=None, title="核发证照")
    valid_from: date | None = Field(default=None, title="许可有效期自")
    valid_until: date | None = Field(default=None, title="许可有效期至")
    conditions: list[Text] = Field(default_factory=list, title="附加条件", max_length=10)

    @model_validator(mode="after")
    def _period(self) -> "DecisionGrant":
        if (self.valid_from is None) != (self.valid_until is None):
            raise ValueError("valid_from（许可有效期自）和 valid_until（许可有效期至）应同时填写或同时不填")
        if self.valid_from and self.valid_until:
            check_period(self.valid_from, self.valid_until, "valid_from（许可有效期自）", "valid_until（许可有效期至）")
        return self
