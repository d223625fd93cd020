// placeholder: visible tests for 09
