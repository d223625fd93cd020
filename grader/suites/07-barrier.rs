// placeholder: hidden suite for 07
