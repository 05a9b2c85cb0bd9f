// How the quiz form's inputs become answers of the quiz API, and back (see docs/api.md).
//
// The form's values are 1-based positions in the order shown, never authored ids (so that the page
// does not give the key away). Each question's section carries a `data-question` description:
//   {id, type, key, options?: [option id, ...], pairs?: [pair id, ...], count?: n,
//    blanks?: [[blank id, [option id, ...] | null], ...]}
// and the API takes: an option id (single choice), a list of option ids (multiple response),
// true/false, text (short answer, numeric, open response), {pair id: "c<n>"} (matching, where n is
// the position of the chosen match), ["i<n>", ...] (ordering: the items shown n-th, in the
// student's order), and {blank id: text or option id} (cloze).

const TEXT_TYPES = new Set(["short_answer", "numeric", "open_response"]);

/** The input name of a question, or of one of its parts. */
export function inputName(spec, part) {
  return part === undefined ? `answer-${spec.key}` : `answer-${spec.key}.${part}`;
}

function byPosition(ids, value) {
  const id = ids[Number(value) - 1];
  if (id === undefined) throw new Error(`no option at position ${value}`);
  return id;
}

function positionOf(ids, id) {
  const index = ids.indexOf(id);
  return index < 0 ? "" : String(index + 1);
}

function orNull(mapping) {
  return Object.keys(mapping).length ? mapping : null;
}

/**
 * The API answer the form holds for a question.
 * `valuesOf(name)` gives the values of the inputs called `name` (checked ones for radios and
 * checkboxes). Returns null for no answer, and undefined for an ordering that is not complete
 * yet (not every item has its own position), which cannot be saved as it is.
 */
export function toApiAnswer(spec, valuesOf) {
  const first = (name) => valuesOf(name)[0] ?? "";
  const name = inputName(spec);
  switch (spec.type) {
    case "single_choice": {
      const value = first(name);
      return value ? byPosition(spec.options, value) : null;
    }
    case "multiple_response": {
      const ids = valuesOf(name).filter(Boolean).map((value) => byPosition(spec.options, value));
      return ids.length ? ids : null;
    }
    case "true_false": {
      const value = first(name);
      return value === "true" ? true : value === "false" ? false : null;
    }
    case "matching": {
      const answer = {};
      spec.pairs.forEach((pair, index) => {
        const value = first(inputName(spec, index + 1));
        if (value) answer[pair] = `c${value}`;
      });
      return orNull(answer);
    }
    case "ordering":
      return orderingAnswer(spec, first);
    case "cloze": {
      const answer = {};
      for (const [blank, options] of spec.blanks) {
        const value = first(inputName(spec, blank));
        if (value.trim()) answer[blank] = options ? byPosition(options, value) : value;
      }
      return orNull(answer);
    }
    default:
      if (TEXT_TYPES.has(spec.type)) {
        const value = first(name);
        return value.trim() ? value : null;
      }
      throw new Error(`unknown question type ${spec.type}`);
  }
}

function orderingAnswer(spec, first) {
  const positions = [];
  for (let n = 1; n <= spec.count; n += 1) positions.push(first(inputName(spec, n)));
  if (positions.every((position) => !position)) return null;
  if (positions.some((position) => !position) || new Set(positions).size !== positions.length) {
    return undefined;
  }
  return positions
    .map((position, index) => [Number(position), `i${index + 1}`])
    .sort((a, b) => a[0] - b[0])
    .map(([, item]) => item);
}

/**
 * The form values that show an API answer: {input name: [values]}, every input of the question
 * named (an empty list clears it). The inverse of `toApiAnswer`.
 */
export function toFormValues(spec, answer) {
  const name = inputName(spec);
  switch (spec.type) {
    case "single_choice":
      return { [name]: answer ? [positionOf(spec.options, answer)] : [] };
    case "multiple_response":
      return { [name]: (answer ?? []).map((id) => positionOf(spec.options, id)) };
    case "true_false":
      return { [name]: answer === true ? ["true"] : answer === false ? ["false"] : [] };
    case "matching":
      return Object.fromEntries(
        spec.pairs.map((pair, index) => [
          inputName(spec, index + 1),
          answer?.[pair] ? [answer[pair].slice(1)] : [],
        ]),
      );
    case "ordering": {
      const values = {};
      for (let n = 1; n <= spec.count; n += 1) {
        const place = (answer ?? []).indexOf(`i${n}`);
        values[inputName(spec, n)] = place < 0 ? [] : [String(place + 1)];
      }
      return values;
    }
    case "cloze":
      return Object.fromEntries(
        spec.blanks.map(([blank, options]) => {
          const value = answer?.[blank];
          if (value === undefined || value === null) return [inputName(spec, blank), []];
          return [inputName(spec, blank), [options ? positionOf(options, value) : value]];
        }),
      );
    default:
      return { [name]: answer === null || answer === undefined ? [] : [String(answer)] };
  }
}

function inputsNamed(form, name) {
  return Array.from(form.elements).filter((element) => element.name === name);
}

/** `valuesOf` for a form element: the values of the inputs with that name. */
export function formReader(form) {
  return (name) =>
    inputsNamed(form, name)
      .filter((input) => !["radio", "checkbox"].includes(input.type) || input.checked)
      .map((input) => input.value);
}

/** Show `values` (from `toFormValues`) in the form's inputs. */
export function applyValues(form, values) {
  for (const [name, chosen] of Object.entries(values)) {
    for (const input of inputsNamed(form, name)) {
      if (["radio", "checkbox"].includes(input.type)) input.checked = chosen.includes(input.value);
      else input.value = chosen[0] ?? "";
    }
  }
}
