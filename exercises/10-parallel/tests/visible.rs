// placeholder: visible tests for 10
