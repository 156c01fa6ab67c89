import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { initiallyTicked, presetsFor } = await app("lib/presets.js");

const SENIOR = [
  { name: "family_name", label: "Surname" }, { name: "given_name", label: "Given name" },
  { name: "name_zh", label: "Chinese name" }, { name: "birthdate", label: "Date of birth" },
  { name: "age_over_65", label: "Aged 65 or over" }, { name: "card_number", label: "Card number" },
];

test("nothing is ticked unless the checker asked for it (issue 16: names were pre-ticked)", () => {
  assert.deepEqual(initiallyTicked(SENIOR), []);
  assert.deepEqual(initiallyTicked(SENIOR, ["age_over_65", "unknown"]), ["age_over_65"]);
});

test("an age threshold is offered as a one-tap preset", () => {
  assert.deepEqual(presetsFor(SENIOR), [{ name: "age_over_65", label: "Aged 65 or over" }]);
  assert.deepEqual(presetsFor([{ name: "licence_class", label: "Class" }]), []);
});
