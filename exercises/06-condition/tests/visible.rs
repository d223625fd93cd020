// placeholder: visible tests for 06
