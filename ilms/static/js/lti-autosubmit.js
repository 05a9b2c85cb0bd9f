// Sends forms marked data-autosubmit as soon as the page is ready (the return to the LMS after
// choosing a module); without JavaScript, the form's own button does the same.
"use strict";
document.querySelectorAll("form[data-autosubmit]").forEach((form) => form.submit());
