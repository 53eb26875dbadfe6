import JSONModel
