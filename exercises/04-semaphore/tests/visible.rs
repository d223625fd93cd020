// placeholder: visible tests for 04
