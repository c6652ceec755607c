-- A promise is one payment or an instalment plan. For a plan, `amount` is what the plan covers in
-- all (the balance), `installments` how many payments, `installment_amount` each one (the balance
-- divided by the count, rounded up to the peso) and `promised_date` the first one's date. A
-- payment of the whole balance less the flow's discount keeps the percentage it was agreed with.
ALTER TABLE promises
    ADD COLUMN installment_amount numeric(14, 2) CHECK (installment_amount > 0),
    ADD COLUMN discount_percent   numeric(5, 2) CHECK (discount_percent > 0 AND discount_percent < 100),
    ADD CONSTRAINT promises_plan_has_its_instalment
        CHECK (installment_amount IS NULL OR installments IS NOT NULL);
